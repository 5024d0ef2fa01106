//go:build !unix

package plugins

import (
	"errors"
	"os"
)

// execPath is "": the child executes the configured path, which must not
// be replaced while the host runs (the host checks the file, then runs
// the path).
func execPath() (string, bool) { return "", false }

// startProcess starts a plugin process. Plugins built with the SDK exit on
// their own when the host dies. Running it as another user is not
// supported here.
func startProcess(path string, argv, env []string, files []*os.File, as *runAs) (*os.Process, bool, error) {
	if as != nil {
		return nil, false, errors.New("plugins: running a plugin as another user is not supported on this system")
	}
	p, err := os.StartProcess(path, argv, &os.ProcAttr{Env: env, Files: files})
	return p, false, err
}

// awaitExit does not wait: the process is reaped as it exits.
func awaitExit(*os.Process) bool { return false }

// stopGroup kills p: there are no process groups to kill here.
func stopGroup(p *os.Process) { _ = p.Kill() }
