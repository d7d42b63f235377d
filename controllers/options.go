package controllers

import (
	"time"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// Clock lets tests move time for leases, deadlines and TTLs without waiting for the wall clock.
type Clock interface {
	// Now is the current time.
	Now() time.Time
}

// wallClock is the production Clock.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// Options tunes the controllers; the zero value is what `ecufleet controller` runs with.
type Options struct {
	// Clock is the time source for lease expiry, deadlines and TTLs; nil means the wall clock.
	Clock Clock

	// LeaseNamespace is where the agents' heartbeat Leases live; "" means diagv1.DefaultLeaseNamespace.
	LeaseNamespace string

	// WriteParallelism bounds the API writes one scheduling pass sends at once, so that many
	// ECUs are claimed and released in one round trip instead of one after the other; 0 means 8.
	WriteParallelism int

	// QueueStatusInterval is the shortest time between two batches of queue-position rewrites,
	// so that a long queue shifting by one does not cost one status write per waiting job on
	// every start; 0 means one second. Phase and reason changes are never delayed.
	QueueStatusInterval time.Duration
}

// withDefaults fills the zero fields.
func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = wallClock{}
	}
	if o.LeaseNamespace == "" {
		o.LeaseNamespace = diagv1.DefaultLeaseNamespace
	}
	if o.WriteParallelism <= 0 {
		o.WriteParallelism = 8
	}
	if o.QueueStatusInterval <= 0 {
		o.QueueStatusInterval = time.Second
	}
	return o
}
