package doip

import (
	"context"
	"runtime"
	"testing"
)

// TestNoGoroutineLeak opens, uses and closes connections, cancels waits and runs UDP requests,
// then checks that the goroutine count returns to where it started.
func TestNoGoroutineLeak(t *testing.T) {
	s := echoServer()
	addr := startServer(t, s)
	ctx := testCtx(t)
	c := &Client{}
	if _, err := c.EntityStatus(ctx, addr); err != nil { // warm up lazily started runtime goroutines
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		conn, err := c.Dial(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.Send(ctx, 0x00E0, []byte{0x3E, 0x00}); err != nil {
			t.Fatal(err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		conn.Receive(cancelled) // returns at once; the response stays queued
		if _, err := c.PowerMode(ctx, addr); err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	waitFor(t, func() bool { return s.OpenSockets() == 0 && runtime.NumGoroutine() <= base })
}
