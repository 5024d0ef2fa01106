package plugins_test

import "os"

var (
	osReadFile  = os.ReadFile
	osWriteFile = os.WriteFile
)
