package controllers

import (
	"context"
	"sync"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// fanOut enqueues many requests for events that concern many objects at once (an agent or
// Lease change concerns every ECU), once for a burst of events rather than once per event. A
// controller restarting with 100 agents sees their 100 agents and 100 Leases at once; mapping
// each event to every ECU listed the 10,000 ECUs 200 times and built 200 sets of 10,000
// requests, most of the controller's peak memory at a restart. Every event is followed by a
// listing that starts after it: events that arrive while one runs cause one more.
type fanOut struct {
	// list returns the requests to enqueue, read when the fan-out runs.
	list func(context.Context) []reconcile.Request
	// atEvent runs at every event, before anything is enqueued (e.g. to drop a snapshot that
	// the reconciles must not see).
	atEvent func()

	mu      sync.Mutex
	running bool
	dirty   bool
}

// trigger notes an event and starts a fan-out unless one is running, which then runs again.
func (f *fanOut) trigger(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if f.atEvent != nil {
		f.atEvent()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dirty = true
	if f.running {
		return
	}
	f.running = true
	go f.run(ctx, q)
}

// run lists and enqueues until no event came in while it listed.
func (f *fanOut) run(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	for {
		f.mu.Lock()
		if !f.dirty {
			f.running = false
			f.mu.Unlock()
			return
		}
		f.dirty = false
		f.mu.Unlock()
		for _, req := range f.list(ctx) {
			q.Add(req)
		}
	}
}

// fanOutOn is the event handler of f for watches of objects of type T.
func fanOutOn[T client.Object](f *fanOut) handler.TypedEventHandler[T, reconcile.Request] {
	return fanOutHandler[T]{f}
}

// fanOutHandler passes every event of a T to its fanOut.
type fanOutHandler[T client.Object] struct{ f *fanOut }

// Create triggers the fan-out.
func (h fanOutHandler[T]) Create(ctx context.Context, _ event.TypedCreateEvent[T], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.f.trigger(ctx, q)
}

// Update triggers the fan-out.
func (h fanOutHandler[T]) Update(ctx context.Context, _ event.TypedUpdateEvent[T], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.f.trigger(ctx, q)
}

// Delete triggers the fan-out.
func (h fanOutHandler[T]) Delete(ctx context.Context, _ event.TypedDeleteEvent[T], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.f.trigger(ctx, q)
}

// Generic triggers the fan-out.
func (h fanOutHandler[T]) Generic(ctx context.Context, _ event.TypedGenericEvent[T], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.f.trigger(ctx, q)
}
