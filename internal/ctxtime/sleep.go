// Package ctxtime waits on timers that give way to a context, so that every pause in ecufleet
// (a UDS busy retry, a delay step, a simulated slow answer) ends when its job is cancelled.
package ctxtime

import (
	"context"
	"time"
)

// Sleep waits d, or returns ctx.Err() as soon as ctx ends; a d of zero or less only reports
// whether ctx has already ended.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
