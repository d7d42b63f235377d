package doip

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// A Conn's socket passes between its caller (while a call waits) and its background reader
// (once idle) and back, any number of times: each alive check the entity sends between round
// trips is answered, and each following round trip still gets its own ACK and response.
func TestConnAnswersAliveChecksBetweenRoundTrips(t *testing.T) {
	const rounds = 4
	alive := make(chan Message, rounds)
	addr := fakeEntity(t, func(r *rawConn) {
		for i := range rounds {
			req := r.next().(*DiagnosticMessage)
			r.send(&DiagnosticACK{Source: req.Target, Target: req.Source})
			r.send(&DiagnosticMessage{Source: req.Target, Target: req.Source, Data: []byte{0x7E, byte(i)}})
			r.send(&AliveCheckRequest{}) // the tester is idle now: its background reader answers
			alive <- r.next()
		}
		r.waitHangUp()
	})
	ctx := testCtx(t)
	conn, err := (&Client{TesterAddress: 0x0E00}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range rounds {
		if err := conn.Send(ctx, 0x00E0, []byte{0x3E, 0x00}); err != nil {
			t.Fatalf("round %d: Send: %v", i, err)
		}
		m, err := conn.Receive(ctx)
		if err != nil || !bytes.Equal(m.Data, []byte{0x7E, byte(i)}) {
			t.Fatalf("round %d: Receive = %+v, %v", i, m, err)
		}
		select {
		case got := <-alive:
			if !isAliveCheckResponseFrom(got, 0x0E00) {
				t.Fatalf("round %d: entity got %#v, want an alive check response", i, got)
			}
		case <-ctx.Done():
			t.Fatalf("round %d: the idle tester did not answer the alive check", i)
		}
	}
}

// While a Receive waits (its caller reading the socket itself), an alive check from the entity
// is answered and does not end the Receive; the diagnostic message after it does.
func TestConnAnswersAliveCheckDuringReceive(t *testing.T) {
	started := make(chan struct{})
	addr := fakeEntity(t, func(r *rawConn) {
		<-started
		r.send(&AliveCheckRequest{})
		if got := r.next(); !isAliveCheckResponseFrom(got, 0x0E00) {
			t.Errorf("entity got %#v, want an alive check response", got)
		}
		r.send(&DiagnosticMessage{Source: 0x00E0, Target: 0x0E00, Data: []byte{0x50, 0x03}})
		r.waitHangUp()
	})
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	close(started)
	m, err := conn.Receive(ctx)
	if err != nil || !bytes.Equal(m.Data, []byte{0x50, 0x03}) {
		t.Fatalf("Receive = %+v, %v; want the diagnostic message after the alive check", m, err)
	}
}

// Diagnostic messages that fill Receive's queue while a Send waits stop the reading (TCP flow
// control pushes back on the entity), the Send reports its missing ACK, and every message is
// still received afterwards, in order, followed by the next exchange.
func TestConnKeepsOrderWhenReceiveQueueFills(t *testing.T) {
	const unsolicited = receiveQueue + 6
	addr := fakeEntity(t, func(r *rawConn) {
		req := r.next().(*DiagnosticMessage)
		for i := range unsolicited {
			r.send(&DiagnosticMessage{Source: req.Target, Target: req.Source, Data: []byte{0x7E, byte(i)}})
		}
		r.send(&DiagnosticACK{Source: req.Target, Target: req.Source})
		req = r.next().(*DiagnosticMessage)
		r.send(&DiagnosticACK{Source: req.Target, Target: req.Source})
		r.send(&DiagnosticMessage{Source: req.Target, Target: req.Source, Data: []byte{0x62, 0xF1, 0x90}})
		r.waitHangUp()
	})
	ctx := testCtx(t)
	conn, err := (&Client{AckTimeout: 300 * time.Millisecond}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Send(ctx, 0x00E0, []byte{0x3E, 0x00})
	var nack *DiagnosticNACKError
	if err == nil || errors.As(err, &nack) {
		t.Fatalf("Send = %v, want a missing ACK: the ACK is queued behind %d unreceived messages", err, unsolicited)
	}
	for i := range unsolicited {
		m, err := conn.Receive(ctx)
		if err != nil || !bytes.Equal(m.Data, []byte{0x7E, byte(i)}) {
			t.Fatalf("Receive %d = %+v, %v; want message %d", i, m, err, i)
		}
	}
	if err := conn.Send(ctx, 0x00E0, []byte{0x22, 0xF1, 0x90}); err != nil {
		t.Fatalf("Send after draining: %v", err)
	}
	if m, err := conn.Receive(ctx); err != nil || !bytes.Equal(m.Data, []byte{0x62, 0xF1, 0x90}) {
		t.Fatalf("Receive after draining = %+v, %v", m, err)
	}
}

// A Receive whose context has a deadline ends with context.DeadlineExceeded when nothing comes,
// and the Conn stays usable: the message that arrives later is received by the next call.
func TestConnReceiveDeadlineLeavesConnUsable(t *testing.T) {
	expired := make(chan struct{})
	addr := fakeEntity(t, func(r *rawConn) {
		<-expired
		r.send(&DiagnosticMessage{Source: 0x00E0, Target: 0x0E00, Data: []byte{0x7F, 0x22, 0x78}})
		r.waitHangUp()
	})
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := conn.Receive(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive = %v, want context.DeadlineExceeded", err)
	}
	close(expired)
	if m, err := conn.Receive(ctx); err != nil || !bytes.Equal(m.Data, []byte{0x7F, 0x22, 0x78}) {
		t.Fatalf("Receive after the expired one = %+v, %v", m, err)
	}
}

// ReceiveBefore ends at its deadline with an error that matches os.ErrDeadlineExceeded, not the
// context's, whether the caller reads the socket itself or the background reader holds it;
// the message that arrives later is received by the next call.
func TestConnReceiveBeforeDeadline(t *testing.T) {
	expired := make(chan struct{})
	addr := fakeEntity(t, func(r *rawConn) {
		<-expired
		r.send(&DiagnosticMessage{Source: 0x00E0, Target: 0x0E00, Data: []byte{0x7E, 0x00}})
		r.waitHangUp()
	})
	ctx := testCtx(t)
	conn := dialConn(t, ctx, addr)
	for _, idle := range []time.Duration{0, 3 * idleHandover} { // the second wait finds the background reader on the socket
		time.Sleep(idle)
		start := time.Now()
		_, err := conn.ReceiveBefore(ctx, start.Add(50*time.Millisecond))
		if !errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil {
			t.Fatalf("after %v idle: ReceiveBefore = %v, want os.ErrDeadlineExceeded", idle, err)
		}
		if waited := time.Since(start); waited < 50*time.Millisecond {
			t.Fatalf("after %v idle: ReceiveBefore returned after %v, before its deadline", idle, waited)
		}
	}
	close(expired)
	if m, err := conn.ReceiveBefore(ctx, time.Now().Add(5*time.Second)); err != nil || !bytes.Equal(m.Data, []byte{0x7E, 0x00}) {
		t.Fatalf("ReceiveBefore after the expired ones = %+v, %v", m, err)
	}
}

// isAliveCheckResponseFrom reports whether m is an alive check response of tester.
func isAliveCheckResponseFrom(m Message, tester uint16) bool {
	a, ok := m.(*AliveCheckResponse)
	return ok && a.SourceAddress == tester
}
