//go:build linux

package plugins

import (
	"os/exec"
	"syscall"
)

// dieWithHost has the kernel kill the plugin when the host process dies,
// however it dies (SIGKILL included). The SDK also exits on its own when
// its parent goes away, for plugins on other systems.
func dieWithHost(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
