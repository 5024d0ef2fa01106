// Package mavencrm locates the Maven Analytics "CRM Sales Opportunities"
// dataset kept beside it (see README.md), for the examples that import it
// and their tests. It imports only the standard library.
package mavencrm

import (
	"path/filepath"
	"runtime"
)

// Dir returns the directory holding the dataset's CSV files: this
// package's source directory in the checkout the program was built from.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}
