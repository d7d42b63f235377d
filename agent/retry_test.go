package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ecufleet/ecufleet/internal/patch"
)

func TestTransientWriteError(t *testing.T) {
	gr := schema.GroupResource{Group: "diag.ecufleet.io", Resource: "diagnosticjobs"}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"success", nil, false},
		{"connection refused", fmt.Errorf("patch: %w", refused), true},
		{"API server unavailable", apierrors.NewServiceUnavailable("restarting"), true},
		{"too many requests", apierrors.NewTooManyRequests("slow down", 1), true},
		{"server timeout", apierrors.NewServerTimeout(gr, "patch", 1), true},
		{"the job left the attempt", patch.ErrNotOurs, false},
		{"the job is gone", apierrors.NewNotFound(gr, "j"), false},
		{"forbidden", apierrors.NewForbidden(gr, "j", errors.New("policy")), false},
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Group: gr.Group, Kind: "DiagnosticJob"}, "j", nil), false},
		{"the agent stops", context.Canceled, false},
	} {
		if got := transientWriteError(tc.err); got != tc.want {
			t.Errorf("%s: transient %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRetryTransientOutlastsAnOutage(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	calls, waits := 0, []time.Duration{}
	err := retryTransient(context.Background(), func() error {
		calls++
		if calls <= 3 {
			return refused
		}
		return nil
	}, func(_ error, d time.Duration) { waits = append(waits, d) })
	if err != nil || calls != 4 {
		t.Fatalf("err %v after %d calls, want success on the 4th", err, calls)
	}
	for i, d := range waits {
		lo, hi := writeRetryFirst<<i/2, writeRetryFirst<<i
		if d < lo || d > hi {
			t.Errorf("wait %d is %v, want within [%v, %v] (backoff with jitter)", i, d, lo, hi)
		}
	}
}

func TestRetryTransientStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	unavailable := apierrors.NewServiceUnavailable("down")
	calls := 0
	err := retryTransient(ctx, func() error { calls++; return unavailable }, nil)
	if !apierrors.IsServiceUnavailable(err) || calls < 2 {
		t.Errorf("got %v after %d calls, want the last error once the context ended", err, calls)
	}
	calls = 0
	if err := retryTransient(context.Background(), func() error { calls++; return patch.ErrNotOurs }, nil); !errors.Is(err, patch.ErrNotOurs) || calls != 1 {
		t.Errorf("a final error was retried: %v after %d calls", err, calls)
	}
}
