//go:build !linux

package devcluster

import "errors"

// setParentDeathSignal needs Linux's prctl; elsewhere `ecufleet dev` runs its children directly.
func setParentDeathSignal() error {
	return errors.New("exec-child: a parent-death signal needs Linux")
}
