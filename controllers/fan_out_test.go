package controllers

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestFanOutListsOnceForABurstAndAgainAfterIt(t *testing.T) {
	ctx := context.Background()
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	var lists, events atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	listed := make(chan int32, 10)
	f := &fanOut{
		atEvent: func() { events.Add(1) },
		list: func(context.Context) []reconcile.Request {
			n := lists.Add(1)
			if n == 1 {
				close(started)
				<-release // the first listing is slow: a burst of events arrives meanwhile
			}
			listed <- n
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: "ns", Name: "e0"}}, {NamespacedName: types.NamespacedName{Namespace: "ns", Name: "e1"}}}
		},
	}
	f.trigger(ctx, q)
	<-started
	for range 199 {
		f.trigger(ctx, q)
	}
	close(release)
	waitListed := func(want int32) {
		t.Helper()
		select {
		case n := <-listed:
			if n != want {
				t.Fatalf("listing %d, want %d", n, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("listing %d did not happen", want)
		}
	}
	waitListed(1)
	waitListed(2) // the burst that arrived during the first listing
	select {
	case n := <-listed:
		t.Fatalf("listing %d for a burst already listed", n)
	case <-time.After(200 * time.Millisecond):
	}
	if got := events.Load(); got != 200 {
		t.Errorf("atEvent ran %d times, want once per event (200)", got)
	}
	if got := q.Len(); got != 2 {
		t.Errorf("queue holds %d requests, want the 2 listed", got)
	}

	f.trigger(ctx, q) // an event after the fan-out ended starts a new one
	waitListed(3)
}
