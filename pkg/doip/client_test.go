package doip

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDialSendReceive(t *testing.T) {
	addr := startServer(t, echoServer())
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.EntityAddress() != 0x00E0 {
		t.Errorf("EntityAddress = 0x%04X, want 0x00E0", conn.EntityAddress())
	}
	for i := 0; i < 3; i++ {
		if err := conn.Send(ctx, 0x00E0, []byte{0x22, 0xF1, 0x90}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		m, err := conn.Receive(ctx)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		want := &DiagnosticMessage{Source: 0x00E0, Target: 0x0E00, Data: []byte{0x62, 0xF1, 0x90}}
		if m.Source != want.Source || m.Target != want.Target || !bytes.Equal(m.Data, want.Data) {
			t.Errorf("Receive = %+v, want %+v", m, want)
		}
	}
}

func TestActivationTypeAndOEMReachTheHook(t *testing.T) {
	s := echoServer()
	var seen RoutingActivationRequest
	s.Activate = func(ctx context.Context, r *RoutingActivationRequest) ActivationCode {
		seen = *r
		return ActivationSuccess
	}
	addr := startServer(t, s)
	ctx := testCtx(t)
	conn, err := (&Client{TesterAddress: 0x0E80, ActivationType: 0xE0, ActivationOEM: []byte{1, 2, 3, 4}}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if seen.SourceAddress != 0x0E80 || seen.ActivationType != 0xE0 || !bytes.Equal(seen.OEM, []byte{1, 2, 3, 4}) {
		t.Errorf("hook saw %+v", seen)
	}
}

func TestActivationDenials(t *testing.T) {
	cases := []struct {
		name   string
		client Client
		hook   ActivationCode
		want   ActivationCode
		closed bool
	}{
		{"tester address outside the range", Client{TesterAddress: 0x0001}, ActivationSuccess, ActivationUnknownSource, true},
		{"unsupported activation type", Client{ActivationType: 0x05}, ActivationSuccess, ActivationUnsupportedType, true},
		{"hook: missing authentication", Client{}, ActivationMissingAuthentication, ActivationMissingAuthentication, false},
		{"hook: rejected confirmation", Client{}, ActivationRejectedConfirmation, ActivationRejectedConfirmation, true},
		{"hook: TLS required", Client{}, ActivationTLSRequired, ActivationTLSRequired, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := echoServer()
			s.Activate = func(context.Context, *RoutingActivationRequest) ActivationCode { return c.hook }
			addr := startServer(t, s)
			ctx := testCtx(t)
			_, err := c.client.Dial(ctx, addr)
			var ae *ActivationError
			if !errors.As(err, &ae) || ae.Response.Code != c.want {
				t.Fatalf("Dial = %v, want an *ActivationError with %v", err, c.want)
			}
			// The same request on a raw socket shows whether the entity closes it.
			cfg := c.client.settings()
			raw := dialRaw(t, addr)
			raw.send(&RoutingActivationRequest{SourceAddress: cfg.TesterAddress, ActivationType: cfg.ActivationType})
			if resp := raw.next().(*RoutingActivationResponse); resp.Code != c.want {
				t.Fatalf("raw activation: %v", resp.Code)
			}
			if c.closed {
				raw.expectClosed()
				return
			}
			raw.send(&AliveCheckRequest{})
			if _, ok := raw.next().(*AliveCheckResponse); !ok {
				t.Error("socket not usable after a denial that keeps it open")
			}
		})
	}
}

func TestActivateRoutingAfterNoActivation(t *testing.T) {
	s := echoServer()
	var calls atomic.Int32
	s.Activate = func(context.Context, *RoutingActivationRequest) ActivationCode {
		if calls.Add(1) == 1 {
			return ActivationMissingAuthentication
		}
		return ActivationSuccess
	}
	addr := startServer(t, s)
	ctx := testCtx(t)
	conn, err := (&Client{NoActivation: true}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Before activation a diagnostic message is refused with NACK 0x02 and the socket closed.
	resp, err := conn.ActivateRouting(ctx, 0x00, nil)
	var ae *ActivationError
	if !errors.As(err, &ae) || resp == nil || resp.Code != ActivationMissingAuthentication {
		t.Fatalf("first activation: %v, %v", resp, err)
	}
	if resp, err = conn.ActivateRouting(ctx, 0x00, nil); err != nil || resp.Code != ActivationSuccess {
		t.Fatalf("second activation: %v, %v", resp, err)
	}
	if conn.EntityAddress() != 0x00E0 {
		t.Errorf("EntityAddress = 0x%04X", conn.EntityAddress())
	}
	if err := conn.Send(ctx, 0x00E0, []byte{0x3E, 0x00}); err != nil {
		t.Fatal(err)
	}
}

func TestDiagnosticBeforeActivationIsRefused(t *testing.T) {
	addr := startServer(t, echoServer())
	ctx := testCtx(t)
	conn, err := (&Client{NoActivation: true}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Send(ctx, 0x00E0, []byte{0x3E, 0x00})
	var ne *DiagnosticNACKError
	if !errors.As(err, &ne) || ne.Code != DiagNACKInvalidSource {
		t.Fatalf("Send before activation = %v, want diagnostic NACK 0x02", err)
	}
	if _, err := conn.Receive(ctx); err == nil {
		t.Error("connection still open after NACK 0x02")
	}
}

func TestAliveCheckOverTCP(t *testing.T) {
	addr := startServer(t, echoServer())
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := conn.AliveCheck(ctx)
	if err != nil || resp.SourceAddress != 0x00E0 {
		t.Fatalf("AliveCheck = %+v, %v", resp, err)
	}
}

func TestUnknownTargetIsNACKedAndConnStaysUsable(t *testing.T) {
	addr := startServer(t, echoServer())
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Send(ctx, 0x1234, []byte{0x3E, 0x00})
	var ne *DiagnosticNACKError
	if !errors.As(err, &ne) || ne.Code != DiagNACKUnknownTarget || ne.Source != 0x1234 || ne.Target != 0x0E00 {
		t.Fatalf("Send to an unknown target = %v, want diagnostic NACK 0x03 from 0x1234", err)
	}
	expectTesterPresent(ctx, t, conn, "after the NACK")
}

func TestOversizeDiagnosticGetsDiagnosticNACK04(t *testing.T) {
	s := echoServer()
	s.MaxDataSize, s.MaxFrameSize = 16, 1024
	addr := startServer(t, s)
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Send(ctx, 0x00E0, make([]byte, 17))
	var ne *DiagnosticNACKError
	if !errors.As(err, &ne) || ne.Code != DiagNACKMessageTooLarge {
		t.Fatalf("Send of 17 bytes with MaxDataSize 16 = %v, want diagnostic NACK 0x04", err)
	}
	if err := conn.Send(ctx, 0x00E0, make([]byte, 16)); err != nil {
		t.Fatalf("Send of 16 bytes: %v", err)
	}
}

func TestGatewayRoutesToSeveralTargets(t *testing.T) {
	s := echoServer()
	s.LogicalAddress, s.Targets, s.NodeType = 0x0010, []uint16{0x00E0, 0x00E1}, NodeGateway
	addr := startServer(t, s)
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.EntityAddress() != 0x0010 {
		t.Errorf("EntityAddress = 0x%04X, want the gateway 0x0010", conn.EntityAddress())
	}
	for _, target := range []uint16{0x00E1, 0x00E0} {
		if err := conn.Send(ctx, target, []byte{0x10, 0x03}); err != nil {
			t.Fatal(err)
		}
		m, err := conn.Receive(ctx)
		if err != nil || m.Source != target {
			t.Fatalf("answer from 0x%04X: %+v, %v", target, m, err)
		}
	}
}

func TestResponsePendingThenFinalResponse(t *testing.T) {
	s := echoServer()
	s.Handler = HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		w.Write([]byte{0x7F, r.Data[0], 0x78})
		w.Write([]byte{0x7F, r.Data[0], 0x78})
		w.Write([]byte{r.Data[0] + 0x40, 0x01})
	})
	addr := startServer(t, s)
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Send(ctx, 0x00E0, []byte{0x31, 0x01, 0xFF, 0x00}); err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]byte{{0x7F, 0x31, 0x78}, {0x7F, 0x31, 0x78}, {0x71, 0x01}} {
		m, err := conn.Receive(ctx)
		if err != nil || !bytes.Equal(m.Data, want) {
			t.Fatalf("message %d: %v, %v; want % x", i, m, err, want)
		}
	}
}

func TestUDPRequests(t *testing.T) {
	s := echoServer()
	s.MaxSockets, s.MaxDataSize = 3, 8192
	s.FurtherAction = 0x10
	s.PowerMode = func() PowerMode { return PowerModeNotReady }
	addr := startServer(t, s)
	ctx := testCtx(t)
	c := &Client{}
	conn, err := c.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	st, err := c.EntityStatus(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	want := EntityStatusResponse{NodeType: NodeNode, MaxSockets: 3, OpenSockets: 1, MaxDataSize: 8192, HasMaxDataSize: true}
	if *st != want {
		t.Errorf("EntityStatus = %+v, want %+v", *st, want)
	}
	pm, err := c.PowerMode(ctx, addr)
	if err != nil || pm.Mode != PowerModeNotReady {
		t.Errorf("PowerMode = %v, %v", pm, err)
	}
	vin, eid := testVIN, testEID
	for name, q := range map[string]IdentifyQuery{"all": {}, "by VIN": {VIN: &vin}, "by EID": {EID: &eid}} {
		a, err := c.Identify(ctx, addr, q)
		if err != nil {
			t.Fatalf("Identify %s: %v", name, err)
		}
		want := VehicleAnnouncement{VIN: testVIN, LogicalAddress: 0x00E0, EID: testEID, GID: testGID, FurtherAction: 0x10}
		if *a != want {
			t.Errorf("Identify %s = %+v, want %+v", name, *a, want)
		}
	}
}

func TestIdentifyNonMatchingGetsNoAnswer(t *testing.T) {
	addr := startServer(t, echoServer())
	c := &Client{ControlTimeout: 300 * time.Millisecond}
	otherVIN := [17]byte([]byte("XXXXXXXXXXXXXXXXX"))
	otherEID := [6]byte{1, 2, 3, 4, 5, 6}
	for name, q := range map[string]IdentifyQuery{"VIN": {VIN: &otherVIN}, "EID": {EID: &otherEID}} {
		if a, err := c.Identify(testCtx(t), addr, q); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Identify with another %s = %v, %v; want no answer", name, a, err)
		}
	}
}

func TestEntityStatusCountsRealSockets(t *testing.T) {
	s := echoServer()
	addr := startServer(t, s)
	ctx := testCtx(t)
	c := &Client{}
	var conns []*Conn
	for i := 0; i < 3; i++ {
		conn, err := (&Client{TesterAddress: 0x0E00 + uint16(i)}).Dial(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		st, err := c.EntityStatus(ctx, addr)
		if err != nil || int(st.OpenSockets) != i+1 {
			t.Fatalf("with %d connections: %+v, %v", i+1, st, err)
		}
	}
	for _, conn := range conns {
		conn.Close()
	}
	waitFor(t, func() bool { return s.OpenSockets() == 0 })
	if st, err := c.EntityStatus(ctx, addr); err != nil || st.OpenSockets != 0 {
		t.Fatalf("after closing: %+v, %v", st, err)
	}
}

// waitFor polls cond until it holds or the test deadline passes (an "eventually", not a timing assertion).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	ctx := testCtx(t)
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition never became true")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func TestReconnectAfterCloseConnections(t *testing.T) {
	s := echoServer()
	var activations atomic.Int32
	s.Activate = func(context.Context, *RoutingActivationRequest) ActivationCode {
		// After the reset, the entity refuses activation twice while it "boots".
		if n := activations.Add(1); n == 2 || n == 3 {
			return ActivationRejectedConfirmation
		}
		return ActivationSuccess
	}
	addr := startServer(t, s)
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s.CloseConnections()
	if _, err := conn.Receive(ctx); err == nil {
		t.Fatal("Receive succeeded on a dropped connection")
	}
	if err := conn.Reconnect(ctx, 10*time.Millisecond); err != nil {
		t.Fatalf("Reconnect: %v", err)
	}
	if n := activations.Load(); n != 4 {
		t.Errorf("%d activations, want 4 (dial, two refused retries, success)", n)
	}
	expectTesterPresent(ctx, t, conn, "after Reconnect")
}

func TestReconnectGivesUpWhenContextEnds(t *testing.T) {
	s := echoServer()
	var refuse atomic.Bool
	s.Activate = func(context.Context, *RoutingActivationRequest) ActivationCode {
		if refuse.Load() {
			return ActivationRejectedConfirmation
		}
		return ActivationSuccess
	}
	addr := startServer(t, s)
	conn, err := (&Client{}).Dial(testCtx(t), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	refuse.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = conn.Reconnect(ctx, 0)
	var ae *ActivationError
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Reconnect = %v, want the context's deadline", err)
	}
	if errors.As(err, &ae) {
		t.Logf("last attempt reported: %v", ae)
	}
}

func TestAutoReconnect(t *testing.T) {
	s := echoServer()
	var activations atomic.Int32
	s.Activate = func(context.Context, *RoutingActivationRequest) ActivationCode {
		activations.Add(1)
		return ActivationSuccess
	}
	addr := startServer(t, s)
	ctx := testCtx(t)
	conn, err := (&Client{AutoReconnect: true}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s.CloseConnections()
	waitFor(t, func() bool { return s.OpenSockets() == 0 })
	expectTesterPresent(ctx, t, conn, "after the entity dropped the socket")
	if n := activations.Load(); n != 2 {
		t.Errorf("%d activations, want 2", n)
	}
}

func TestNoAutoReconnectByDefault(t *testing.T) {
	s := echoServer()
	addr := startServer(t, s)
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s.CloseConnections()
	waitFor(t, func() bool { return s.OpenSockets() == 0 })
	if _, err := conn.Receive(ctx); err == nil || errors.Is(err, ErrClosed) {
		t.Fatalf("Receive on a dropped connection = %v, want a lost-connection error", err)
	}
}

func TestCloseUnblocksReceive(t *testing.T) {
	addr := startServer(t, echoServer())
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := conn.Receive(ctx)
		errc <- err
	}()
	conn.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Receive after Close = %v, want ErrClosed", err)
	}
	if err := conn.Send(ctx, 0x00E0, []byte{0x3E}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close = %v", err)
	}
	if err := conn.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
}

func TestContextCancelUnblocksReceive(t *testing.T) {
	addr := startServer(t, echoServer())
	conn, err := (&Client{}).Dial(testCtx(t), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := conn.Receive(ctx)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Receive = %v, want context.Canceled", err)
	}
}

// fakeEntity accepts one TCP socket on 127.0.0.1 and hands it to script, to test the Client
// against entity behaviour the Server never shows.
func fakeEntity(t *testing.T, script func(r *rawConn)) string {
	t.Helper()
	return fakeEntities(t, script)
}

// fakeEntities is fakeEntity for a tester that reconnects: the i-th socket accepted, after its
// routing activation, goes to scripts[i].
func fakeEntities(t *testing.T, scripts ...func(r *rawConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, script := range scripts {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			nc.SetDeadline(time.Now().Add(20 * time.Second))
			r := &rawConn{t: t, nc: nc, rd: NewReader(nc, DefaultMaxPayload)}
			req := r.next().(*RoutingActivationRequest)
			r.send(&RoutingActivationResponse{TesterAddress: req.SourceAddress, EntityAddress: 0x00E0, Code: ActivationSuccess})
			script(r)
			nc.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

func TestClientAnswersEntityAliveCheck(t *testing.T) {
	got := make(chan Message, 1)
	addr := fakeEntity(t, func(r *rawConn) {
		r.send(&AliveCheckRequest{})
		got <- r.next()
	})
	conn, err := (&Client{TesterAddress: 0x0E42}).Dial(testCtx(t), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if m, ok := (<-got).(*AliveCheckResponse); !ok || m.SourceAddress != 0x0E42 {
		t.Fatalf("entity got %#v, want an alive check response from 0x0E42", m)
	}
}

func TestClientMatchesACKOnAddresses(t *testing.T) {
	addr := fakeEntity(t, func(r *rawConn) {
		req := r.next().(*DiagnosticMessage)
		// An ACK for another tester and one from another ECU must not complete the Send.
		r.send(&DiagnosticACK{Source: req.Target, Target: 0x0E99})
		r.send(&DiagnosticACK{Source: 0x0777, Target: req.Source})
		r.send(&DiagnosticNACK{Source: req.Target, Target: req.Source, Code: DiagNACKTargetUnreachable})
		r.send(&DiagnosticMessage{Source: req.Target, Target: 0x0E99, Data: []byte{0x01}}) // not ours
		r.send(&DiagnosticMessage{Source: req.Target, Target: req.Source, Data: []byte{0x02}})
		r.waitHangUp()
	})
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Send(ctx, 0x00E0, []byte{0x3E, 0x00})
	var ne *DiagnosticNACKError
	if !errors.As(err, &ne) || ne.Code != DiagNACKTargetUnreachable {
		t.Fatalf("Send = %v, want the NACK addressed to this tester", err)
	}
	if m, err := conn.Receive(ctx); err != nil || !bytes.Equal(m.Data, []byte{0x02}) {
		t.Fatalf("Receive = %+v, %v; want only the message addressed to this tester", m, err)
	}
}

func TestClientNACKsBadFrameFromEntity(t *testing.T) {
	got := make(chan Message, 1)
	addr := fakeEntity(t, func(r *rawConn) {
		r.write(hx(t, "02 fd 00 08 00 00 00 03 00 00 00")) // alive check response of 3 bytes
		got <- r.next()
	})
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if m, ok := (<-got).(*GenericNACK); !ok || m.Code != NACKInvalidLength {
		t.Fatalf("entity got %#v, want generic NACK 0x04", m)
	}
	if _, err := conn.Receive(ctx); err == nil {
		t.Fatal("connection still usable after a fatal framing fault")
	}
}

func TestSendTimesOutWithoutACK(t *testing.T) {
	addr := fakeEntity(t, func(r *rawConn) {
		r.next()
		r.waitHangUp() // never acknowledge
	})
	conn, err := (&Client{AckTimeout: 200 * time.Millisecond}).Dial(testCtx(t), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Send(testCtx(t), 0x00E0, []byte{0x3E, 0x00}); err == nil {
		t.Fatal("Send succeeded without an ACK")
	}
}
