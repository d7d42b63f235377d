package devcluster

import (
	"fmt"
	"syscall"
)

// setParentDeathSignal has the kernel SIGKILL this process when its parent exits; the setting
// survives the exec of the control plane binary.
func setParentDeathSignal() error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0); errno != 0 {
		return fmt.Errorf("exec-child: prctl(PR_SET_PDEATHSIG): %w", errno)
	}
	return nil
}
