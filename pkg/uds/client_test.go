package uds

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

const testECU uint16 = 0x00E0

// scripted is an in-memory Transport: each sent request is handed to respond, which replies
// (now or later, from any goroutine) through reply. It also records every request and flags a
// request sent while the previous one still waits for its final answer.
type scripted struct {
	respond func(req []byte, reply func(source uint16, data []byte))
	in      chan scriptedReply

	mu          sync.Mutex
	sent        [][]byte
	outstanding bool
	interleaved int
	sentSignal  chan []byte
}

// scriptedReply is one message the script sends to the tester.
type scriptedReply struct {
	source uint16
	data   []byte
}

func newScripted(respond func(req []byte, reply func(source uint16, data []byte))) *scripted {
	return &scripted{respond: respond, in: make(chan scriptedReply, 64), sentSignal: make(chan []byte, 64)}
}

func (s *scripted) Send(_ context.Context, target uint16, data []byte) error {
	if target != testECU {
		return errors.New("scripted transport: wrong target")
	}
	req := append([]byte(nil), data...)
	s.mu.Lock()
	if s.outstanding {
		s.interleaved++
	}
	s.outstanding = !SuppressesPositiveResponse(req)
	s.sent = append(s.sent, req)
	s.mu.Unlock()
	select {
	case s.sentSignal <- req:
	default:
	}
	s.respond(req, func(source uint16, resp []byte) {
		s.in <- scriptedReply{source, resp}
	})
	return nil
}

func (s *scripted) ReceiveFrom(ctx context.Context) (uint16, []byte, error) {
	select {
	case m := <-s.in:
		if nre, ok := negative(m.data); !ok || nre.NRC != NRCResponsePending {
			s.mu.Lock()
			s.outstanding = false
			s.mu.Unlock()
		}
		return m.source, m.data, nil
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
}

func (s *scripted) requests() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.sent...)
}

func pending(sid byte) []byte { return []byte{0x7F, sid, 0x78} }

func TestRequestPositive(t *testing.T) {
	tr := newScripted(func(req []byte, reply func(uint16, []byte)) {
		reply(testECU, append([]byte{req[0] + 0x40}, req[1:]...))
	})
	c := NewClient(tr, testECU)
	resp, err := c.Request(context.Background(), []byte{0x22, 0xF1, 0x90})
	if err != nil || !bytes.Equal(resp, []byte{0x62, 0xF1, 0x90}) {
		t.Fatalf("got % X, %v", resp, err)
	}
}

func TestRequestNegativeKeepsBytes(t *testing.T) {
	tr := newScripted(func(req []byte, reply func(uint16, []byte)) { reply(testECU, []byte{0x7F, req[0], 0x31}) })
	c := NewClient(tr, testECU)
	resp, err := c.Request(context.Background(), []byte{0x22, 0x12, 0x34})
	var nre *NegativeResponseError
	if !errors.As(err, &nre) || nre.SID != SIDReadDataByIdentifier || nre.NRC != NRCRequestOutOfRange {
		t.Fatalf("got %v", err)
	}
	if !bytes.Equal(resp, []byte{0x7F, 0x22, 0x31}) || !bytes.Equal(nre.Response, resp) {
		t.Fatalf("raw bytes: resp % X, error % X", resp, nre.Response)
	}
}

// A chain of response pending answers whose total far exceeds P2 succeeds because each 0x78
// switches the wait to P2*.
func TestRequestResponsePendingLongerThanP2(t *testing.T) {
	tr := newScripted(func(req []byte, reply func(uint16, []byte)) {
		go func() {
			for range 3 {
				reply(testECU, pending(req[0]))
				time.Sleep(40 * time.Millisecond)
			}
			reply(testECU, []byte{0x71, 0x01, 0xFF, 0x00, 0x00})
		}()
	})
	c := NewClient(tr, testECU)
	c.P2 = 20 * time.Millisecond
	c.P2Star = 30 * time.Second
	resp, err := c.Request(context.Background(), RoutineControl(RoutineStart, 0xFF00, nil))
	if err != nil || !bytes.Equal(resp, []byte{0x71, 0x01, 0xFF, 0x00, 0x00}) {
		t.Fatalf("got % X, %v", resp, err)
	}
}

func TestRequestTimeouts(t *testing.T) {
	t.Run("P2", func(t *testing.T) {
		tr := newScripted(func([]byte, func(uint16, []byte)) {})
		c := NewClient(tr, testECU)
		c.P2 = 20 * time.Millisecond
		_, err := c.Request(context.Background(), []byte{0x22, 0xF1, 0x90})
		var te *TimeoutError
		if !errors.As(err, &te) || te.Timer != TimerP2 || te.Pending != 0 || te.SID != SIDReadDataByIdentifier {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("P2*", func(t *testing.T) {
		tr := newScripted(func(req []byte, reply func(uint16, []byte)) { reply(testECU, pending(req[0])) })
		c := NewClient(tr, testECU)
		c.P2Star = 20 * time.Millisecond
		_, err := c.Request(context.Background(), []byte{0x22, 0xF1, 0x90})
		var te *TimeoutError
		if !errors.As(err, &te) || te.Timer != TimerP2Star || te.Pending != 1 {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("pending limit", func(t *testing.T) {
		stop := make(chan struct{})
		defer close(stop)
		tr := newScripted(func(req []byte, reply func(uint16, []byte)) {
			go func() {
				tick := time.NewTicker(5 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						reply(testECU, pending(req[0]))
					}
				}
			}()
		})
		c := NewClient(tr, testECU)
		c.P2Star = time.Minute
		c.PendingLimit = 100 * time.Millisecond
		_, err := c.Request(context.Background(), []byte{0x31, 0x01, 0xFF, 0x00})
		var te *TimeoutError
		if !errors.As(err, &te) || te.Timer != TimerPendingLimit || te.Pending == 0 {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("context", func(t *testing.T) {
		tr := newScripted(func([]byte, func(uint16, []byte)) {})
		c := NewClient(tr, testECU)
		c.P2 = time.Minute
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.Request(ctx, []byte{0x22, 0xF1, 0x90})
		var te *TimeoutError
		if !errors.Is(err, context.Canceled) || errors.As(err, &te) {
			t.Fatalf("got %v, want context.Canceled and no TimeoutError", err)
		}
	})
}

func TestRequestDiscardsOtherResponses(t *testing.T) {
	tr := newScripted(func(req []byte, reply func(uint16, []byte)) {
		reply(testECU, []byte{0x7E, 0x00})           // late answer to an earlier tester present
		reply(testECU, []byte{0x7F, 0x3E, 0x12})     // late negative for another service
		reply(0x00E1, []byte{0x62, 0xF1, 0x90, 'X'}) // another ECU behind the gateway
		reply(testECU, []byte{0x62, 0xF1, 0x90, 'O', 'K'})
	})
	c := NewClient(tr, testECU)
	resp, err := c.Request(context.Background(), []byte{0x22, 0xF1, 0x90})
	if err != nil || !bytes.Equal(resp, []byte{0x62, 0xF1, 0x90, 'O', 'K'}) {
		t.Fatalf("got % X, %v", resp, err)
	}
}

func TestAnswers(t *testing.T) {
	tests := []struct {
		req, resp string
		want      bool
	}{
		{"22 F1 90", "62 F1 90 41", true},
		{"22 F1 90", "62 F1 97 41", false},
		{"22 F1 90", "7F 22 31", true},
		{"22 F1 90", "7F 2E 31", false},
		{"2E F1 98 41", "6E F1 98", true},
		{"2E F1 98 41", "6E F1 99", false},
		{"31 01 FF 00", "71 01 FF 00 00", true},
		{"31 01 FF 00", "71 03 FF 00 00", false},
		{"31 01 FF 00", "71 01 FF 01", false},
		{"10 83", "50 03 00 32 01 F4", true},
		{"10 03", "50 01 00 32 01 F4", false},
		{"14 FF FF FF", "54", true},
		{"3E 00", "7E", false},
		{"22 F1 90", "", false},
	}
	for _, tt := range tests {
		req, _ := ParseHex(tt.req)
		resp, _ := ParseHex(tt.resp)
		if got := answers(req, resp); got != tt.want {
			t.Errorf("answers(%s, %s) = %v, want %v", tt.req, tt.resp, got, tt.want)
		}
	}
}

func TestRequestBusyRepeat(t *testing.T) {
	t.Run("recovers", func(t *testing.T) {
		var n int
		tr := newScripted(func(req []byte, reply func(uint16, []byte)) {
			n++
			if n <= 2 {
				reply(testECU, []byte{0x7F, req[0], 0x21})
				return
			}
			reply(testECU, []byte{0x54})
		})
		c := NewClient(tr, testECU)
		c.BusyDelay = time.Millisecond
		resp, err := c.Request(context.Background(), []byte{0x14, 0xFF, 0xFF, 0xFF})
		if err != nil || !bytes.Equal(resp, []byte{0x54}) {
			t.Fatalf("got % X, %v", resp, err)
		}
		if got := len(tr.requests()); got != 3 {
			t.Fatalf("sent %d requests, want 3 (two refused, one answered)", got)
		}
	})
	t.Run("gives up", func(t *testing.T) {
		tr := newScripted(func(req []byte, reply func(uint16, []byte)) { reply(testECU, []byte{0x7F, req[0], 0x21}) })
		c := NewClient(tr, testECU)
		c.BusyDelay = time.Millisecond
		c.BusyRetries = 2
		_, err := c.Request(context.Background(), []byte{0x14, 0xFF, 0xFF, 0xFF})
		var nre *NegativeResponseError
		if !errors.As(err, &nre) || nre.NRC != NRCBusyRepeatRequest {
			t.Fatalf("got %v", err)
		}
		if got := len(tr.requests()); got != 3 {
			t.Fatalf("sent %d requests, want 3 (first try and two retries)", got)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		tr := newScripted(func(req []byte, reply func(uint16, []byte)) { reply(testECU, []byte{0x7F, req[0], 0x21}) })
		c := NewClient(tr, testECU)
		c.BusyRetries = -1
		if _, err := c.Request(context.Background(), []byte{0x14, 0xFF, 0xFF, 0xFF}); err == nil {
			t.Fatal("busy answer accepted")
		}
		if got := len(tr.requests()); got != 1 {
			t.Fatalf("sent %d requests, want 1", got)
		}
	})
}

func TestRequestSuppressedDoesNotWait(t *testing.T) {
	tr := newScripted(func([]byte, func(uint16, []byte)) {})
	c := NewClient(tr, testECU)
	c.P2 = time.Hour
	resp, err := c.Request(context.Background(), TesterPresent(true))
	if err != nil || resp != nil {
		t.Fatalf("got % X, %v", resp, err)
	}
}

func TestRequestEmpty(t *testing.T) {
	c := NewClient(newScripted(func([]byte, func(uint16, []byte)) {}), testECU)
	var ae *ArgumentError
	if _, err := c.Request(context.Background(), nil); !errors.As(err, &ae) {
		t.Fatalf("got %v", err)
	}
}

// ecuScript answers like a small ECU: session control with P2 50 ms / P2* 5 s, reset, tester
// present, and a read that is slow (two response pending answers) to widen the window in which
// a tester present could interleave.
func ecuScript(req []byte, reply func(uint16, []byte)) {
	switch req[0] {
	case 0x10:
		reply(testECU, SessionControlResponse(Session(req[1]), 50*time.Millisecond, 5*time.Second))
	case 0x11:
		reply(testECU, []byte{0x51, req[1]})
	case 0x3E:
		if req[1] == 0 {
			reply(testECU, []byte{0x7E, 0x00})
		}
	case 0x22:
		go func() {
			reply(testECU, pending(0x22))
			time.Sleep(30 * time.Millisecond)
			reply(testECU, pending(0x22))
			time.Sleep(30 * time.Millisecond)
			reply(testECU, append([]byte{0x62}, req[1:]...))
		}()
	}
}

func TestSessionTracking(t *testing.T) {
	c := NewClient(newScripted(ecuScript), testECU)
	ctx := context.Background()
	if p2, p2s := c.Timeouts(); p2 != DefaultP2 || p2s != DefaultP2Star {
		t.Fatalf("initial timeouts %v %v", p2, p2s)
	}
	if _, err := c.Request(ctx, SessionControl(SessionExtended)); err != nil {
		t.Fatal(err)
	}
	if c.Session() != SessionExtended {
		t.Fatalf("session %v, want extended", c.Session())
	}
	if p2, p2s := c.Timeouts(); p2 != 50*time.Millisecond+DefaultNetworkMargin || p2s != 5*time.Second+DefaultNetworkMargin {
		t.Fatalf("timeouts after session control %v %v", p2, p2s)
	}
	if _, err := c.Request(ctx, ECUReset(ResetHard)); err != nil {
		t.Fatal(err)
	}
	if c.Session() != SessionDefault {
		t.Fatalf("session %v after reset, want default", c.Session())
	}
	if p2, p2s := c.Timeouts(); p2 != DefaultP2 || p2s != DefaultP2Star {
		t.Fatalf("timeouts after reset %v %v", p2, p2s)
	}
}

func TestKeepSessionAlive(t *testing.T) {
	tr := newScripted(ecuScript)
	c := NewClient(tr, testECU)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// In the default session there is nothing to keep alive.
	if err := c.KeepSessionAlive(ctx, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Request(ctx, SessionControl(SessionExtended)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.KeepSessionAlive(ctx, 2*time.Millisecond) }()

	// Slow reads run while tester present ticks much faster than they answer.
	for range 3 {
		if _, err := c.Request(ctx, []byte{0x22, 0xF1, 0x90}); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until at least two tester presents went out.
	for n := 0; n < 2; {
		select {
		case req := <-tr.sentSignal:
			if bytes.Equal(req, []byte{0x3E, 0x80}) {
				n++
			}
		case <-ctx.Done():
			t.Fatal("no tester present sent")
		}
	}
	if _, err := c.Request(ctx, SessionControl(SessionDefault)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("KeepSessionAlive: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("KeepSessionAlive did not stop when the session returned to default")
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.interleaved != 0 {
		t.Fatalf("%d requests were sent while another one was waiting for its answer", tr.interleaved)
	}
}

func TestKeepSessionAliveStopsOnContext(t *testing.T) {
	c := NewClient(newScripted(ecuScript), testECU)
	if _, err := c.Request(context.Background(), SessionControl(SessionProgramming)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.KeepSessionAlive(ctx, time.Hour) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("KeepSessionAlive after cancel: %v", err)
	}
}
