package ecusim

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// testTimeout bounds every wait in these tests; generous so a loaded machine does not flake.
const testTimeout = 30 * time.Second

func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// startSim runs a simulator on a free 127.0.0.1 port until the test ends.
func startSim(t testing.TB, cfg Config) *Sim {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(testContext(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

// dial opens an activated tester connection to the simulator.
func dial(t testing.TB, s *Sim) *doip.Conn {
	t.Helper()
	c, err := (&doip.Client{}).Dial(testContext(t), s.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ask sends a hex request through a uds.Client and returns the final response, positive or
// negative, failing the test on anything else (timeouts, transport errors).
func ask(t *testing.T, c *uds.Client, hexReq string) []byte {
	t.Helper()
	req, err := uds.ParseHex(hexReq)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Request(testContext(t), req)
	var nre *uds.NegativeResponseError
	if err != nil && !errors.As(err, &nre) {
		t.Fatalf("request %s: %v", hexReq, err)
	}
	return resp
}

// expect checks that the request is answered with exactly want (hex).
func expect(t *testing.T, c *uds.Client, hexReq, want string) {
	t.Helper()
	got := ask(t, c, hexReq)
	w, err := uds.ParseHex(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, w) {
		t.Errorf("%s: got %s, want %s", hexReq, uds.FormatHex(got), uds.FormatHex(w))
	}
}

func hexOf(s string) string { return uds.FormatHex([]byte(s)) }

// eventually waits until cond holds, failing the test when testTimeout passes first.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx := testContext(t)
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting until %s", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
