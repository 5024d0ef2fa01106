//go:build unix && !linux

package plugins

import (
	"os"
	"syscall"
)

// execPath is "": the child executes the configured path, which must not
// be replaced while the host runs (the host checks the file, then runs
// the path).
func execPath() (string, bool) { return "", false }

// startProcess starts a plugin process in a process group of its own, as
// user as if set. Plugins built with the SDK exit on their own when the
// host dies.
func startProcess(path string, argv, env []string, files []*os.File, as *runAs) (*os.Process, bool, error) {
	sys := &syscall.SysProcAttr{Setpgid: true}
	if as != nil {
		sys.Credential = &syscall.Credential{Uid: as.uid, Gid: as.gid, Groups: as.groups}
	}
	p, err := os.StartProcess(path, argv, &os.ProcAttr{Env: env, Files: files, Sys: sys})
	return p, false, err
}

// awaitExit does not wait: the process is reaped as it exits.
func awaitExit(*os.Process) bool { return false }

// stopGroup kills p's process group.
func stopGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
