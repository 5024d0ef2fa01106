//go:build linux

package plugins

import (
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// execPath is the path the child executes: the verified executable's
// descriptor, fd 3 in the child (Start passes it there), so that what
// runs is the file the host checked, whatever was renamed over its path
// since. A script's interpreter is handed the same path and reads the
// same file.
func execPath() (string, bool) { return "/proc/self/fd/3", true }

// namespaces records whether the system gives plugins PID namespaces:
// unknown until a plugin started, then whether the first start in one
// worked.
var namespaces struct {
	mu          sync.Mutex
	tried, work bool
}

// startProcess starts a plugin process (as the user as names, if not
// nil) in a process group of its own, killed with the host however the
// host dies (the parent-death signal), and, where the system allows it,
// as the first process of a PID namespace of its own: when that process
// dies, the kernel kills every process in the namespace, those started in
// sessions of their own included, even if the host was killed. As root
// the namespace is all it takes; otherwise it takes a user namespace too
// (mapping the host's user and group to themselves), which unprivileged
// processes may create on most systems, and which cannot hold another
// user. Without a namespace the plugin runs in its process group only,
// and contained is false.
func startProcess(path string, argv, env []string, files []*os.File, as *runAs) (p *os.Process, contained bool, err error) {
	group := syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if as != nil {
		group.Credential = &syscall.Credential{Uid: as.uid, Gid: as.gid, Groups: as.groups}
	}
	namespaces.mu.Lock()
	try := (!namespaces.tried || namespaces.work) && (as == nil || os.Geteuid() == 0)
	namespaces.mu.Unlock()
	if try {
		ns := group
		ns.Cloneflags = syscall.CLONE_NEWPID
		if uid, gid := os.Geteuid(), os.Getegid(); uid != 0 {
			ns.Cloneflags |= syscall.CLONE_NEWUSER
			ns.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
			ns.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		}
		p, err = os.StartProcess(path, argv, &os.ProcAttr{Env: env, Files: files, Sys: &ns})
		if err == nil {
			namespaces.mu.Lock()
			namespaces.tried, namespaces.work = true, true
			namespaces.mu.Unlock()
			return p, true, nil
		}
	}
	p, err2 := os.StartProcess(path, argv, &os.ProcAttr{Env: env, Files: files, Sys: &group})
	if err2 != nil {
		return nil, false, err2
	}
	if try {
		// The namespace was the trouble: the system does not allow one.
		namespaces.mu.Lock()
		namespaces.tried, namespaces.work = true, false
		namespaces.mu.Unlock()
	}
	return p, false, nil
}

// awaitExit waits until p has exited, without reaping it (waitid with
// WNOWAIT), so that its process ID, and that of its group, stays its own
// until it is reaped. It reports whether it waited.
func awaitExit(p *os.Process) bool {
	const pPID = 1
	var info [128]byte // siginfo_t
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(p.Pid),
			uintptr(unsafe.Pointer(&info[0])), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		switch errno {
		case 0:
			return true
		case syscall.EINTR:
			continue
		}
		return false
	}
}

// stopGroup kills p's process group: p (in its namespace, where it has
// one, which kills the namespace) and every process it started that is
// still in its group.
func stopGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
