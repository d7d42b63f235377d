package agent

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/ecufleet/ecufleet/internal/patch"
)

// Backoff of a write the API server could not take: short at first, so a brief outage costs
// little, capped so that a returning server is noticed within seconds.
const (
	writeRetryFirst = 200 * time.Millisecond
	writeRetryMax   = 5 * time.Second
)

// transientWriteError tells whether a failed write may succeed later unchanged: no answer
// (connection refused or reset, a timeout), or an answer that says "not now" (429, 5xx).
// A refusal (invalid, forbidden, gone) and patch.ErrNotOurs are final.
func transientWriteError(err error) bool {
	if err == nil || errors.Is(err, patch.ErrNotOurs) || errors.Is(err, context.Canceled) {
		return false
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		code := status.Status().Code
		return code == 429 || code >= 500
	}
	return true
}

// retryTransient runs op until it succeeds, fails for good, or ctx ends, waiting between
// tries with exponential backoff and jitter; it returns op's last error. Each write of a job's
// status carries every step result so far, so retrying the last one loses nothing and never
// reports a step twice or out of order.
func retryTransient(ctx context.Context, op func() error, onRetry func(err error, wait time.Duration)) error {
	wait := writeRetryFirst
	for {
		err := op()
		if !transientWriteError(err) {
			return err
		}
		d := wait/2 + rand.N(wait/2+1) // jitter: agents that lost the server together do not return together
		if onRetry != nil {
			onRetry(err, d)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
		wait = min(2*wait, writeRetryMax)
	}
}
