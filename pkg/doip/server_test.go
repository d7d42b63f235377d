package doip

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func TestServerFramesSplitByteByByte(t *testing.T) {
	addr := startServer(t, echoServer())
	raw := dialRaw(t, addr)
	var stream []byte
	stream = AppendFrame(stream, Version2012, &RoutingActivationRequest{SourceAddress: 0x0E00})
	stream = AppendFrame(stream, Version2012, &DiagnosticMessage{Source: 0x0E00, Target: 0x00E0, Data: []byte{0x22, 0xF1, 0x90}})
	for i := range stream {
		raw.write(stream[i : i+1])
	}
	expectActivationACKResponse(t, raw, []byte{0x62, 0xF1, 0x90})
}

func TestServerFramesCoalesced(t *testing.T) {
	addr := startServer(t, echoServer())
	raw := dialRaw(t, addr)
	var stream []byte
	stream = AppendFrame(stream, Version2012, &RoutingActivationRequest{SourceAddress: 0x0E00})
	stream = AppendFrame(stream, Version2012, &DiagnosticMessage{Source: 0x0E00, Target: 0x00E0, Data: []byte{0x22, 0xF1, 0x90}})
	stream = AppendFrame(stream, Version2012, &DiagnosticMessage{Source: 0x0E00, Target: 0x00E0, Data: []byte{0x3E, 0x00}})
	raw.write(stream)
	if m, ok := raw.next().(*RoutingActivationResponse); !ok || m.Code != ActivationSuccess {
		t.Fatalf("activation: %#v", m)
	}
	// Each message is ACKed on receipt, so the second ACK may come before or after the first
	// response; each ACK precedes its own response and the responses keep the request order.
	want := [][]byte{{0x62, 0xF1, 0x90}, {0x7E, 0x00}}
	acks, answered := 0, 0
	for answered < len(want) {
		switch m := raw.next().(type) {
		case *DiagnosticACK:
			acks++
		case *DiagnosticMessage:
			if answered >= acks || !bytes.Equal(m.Data, want[answered]) {
				t.Fatalf("response % x after %d ACKs and %d responses, want % x after its ACK", m.Data, acks, answered, want[answered])
			}
			answered++
		default:
			t.Fatalf("unexpected %#v", m)
		}
	}
	if acks != len(want) {
		t.Fatalf("%d ACKs for %d requests", acks, len(want))
	}
}

func expectActivationACKResponse(t *testing.T, raw *rawConn, resp []byte) {
	t.Helper()
	if m, ok := raw.next().(*RoutingActivationResponse); !ok || m.Code != ActivationSuccess {
		t.Fatalf("activation: %#v", m)
	}
	expectACKResponse(t, raw, resp)
}

func expectACKResponse(t *testing.T, raw *rawConn, resp []byte) {
	t.Helper()
	raw.expectACK()
	raw.expectResponse(resp...)
}

// TestServerGenericNACKs injects each header fault on a raw socket and checks the NACK code and
// whether the entity keeps the socket open (proved by a working alive check afterwards).
func TestServerGenericNACKs(t *testing.T) {
	cases := []struct {
		name   string
		frame  string
		code   NACKCode
		closed bool
	}{
		{"inverse version mismatch", "02 fc 00 07 00 00 00 00", NACKIncorrectPattern, true},
		{"unsupported version", "07 f8 00 07 00 00 00 00", NACKIncorrectPattern, true},
		{"default version on a TCP type", "ff 00 00 07 00 00 00 00", NACKIncorrectPattern, true},
		{"unknown payload type", "02 fd 12 34 00 00 00 03 01 02 03", NACKUnknownPayloadType, false},
		{"UDP-only type on TCP", "02 fd 40 01 00 00 00 00", NACKUnknownPayloadType, false},
		{"wrong length for alive check response", "02 fd 00 08 00 00 00 03 0e 00 00", NACKInvalidLength, true},
		{"wrong length for routing activation", "02 fd 00 05 00 00 00 08 0e 00 00 00 00 00 00 00", NACKInvalidLength, true},
		{"diagnostic message without data", "02 fd 80 01 00 00 00 04 0e 00 00 e0", NACKInvalidLength, true},
		{"4 GiB header", "02 fd 80 01 ff ff ff ff", NACKMessageTooLarge, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := startServer(t, echoServer())
			raw := dialRaw(t, addr)
			raw.activate(0x0E00)
			raw.write(hx(t, c.frame))
			m, ok := raw.next().(*GenericNACK)
			if !ok || m.Code != c.code {
				t.Fatalf("got %#v, want generic NACK %v", m, c.code)
			}
			if c.closed {
				raw.expectClosed()
				return
			}
			if c.code == NACKMessageTooLarge {
				return // the entity now discards the 4 GiB payload; nothing else is in sync
			}
			raw.send(&AliveCheckRequest{})
			if _, ok := raw.next().(*AliveCheckResponse); !ok {
				t.Fatal("socket out of sync after a refused frame")
			}
		})
	}
}

func TestServerSkipsOversizePayloadAndStaysInSync(t *testing.T) {
	s := echoServer()
	s.MaxDataSize = 64
	addr := startServer(t, s)
	raw := dialRaw(t, addr)
	raw.activate(0x0E00)
	big := Marshal(Version2012, &DiagnosticMessage{Source: 0x0E00, Target: 0x00E0, Data: make([]byte, 200000)})
	raw.write(big)
	if m, ok := raw.next().(*GenericNACK); !ok || m.Code != NACKMessageTooLarge {
		t.Fatalf("got %#v, want generic NACK 0x02", m)
	}
	raw.send(&DiagnosticMessage{Source: 0x0E00, Target: 0x00E0, Data: []byte{0x3E, 0x00}})
	expectACKResponse(t, raw, []byte{0x7E, 0x00})
}

func TestServerDiagnosticFromOtherSourceIsRefusedAndClosed(t *testing.T) {
	addr := startServer(t, echoServer())
	raw := dialRaw(t, addr)
	raw.activate(0x0E00)
	raw.send(&DiagnosticMessage{Source: 0x0E01, Target: 0x00E0, Data: []byte{0x3E, 0x00}})
	m, ok := raw.next().(*DiagnosticNACK)
	if !ok || m.Code != DiagNACKInvalidSource || m.Source != 0x00E0 || m.Target != 0x0E01 {
		t.Fatalf("got %#v, want diagnostic NACK 0x02", m)
	}
	raw.expectClosed()
}

func TestServerSecondSourceOnActivatedSocket(t *testing.T) {
	addr := startServer(t, echoServer())
	raw := dialRaw(t, addr)
	raw.activate(0x0E00)
	if resp := raw.activate(0x0E00); resp.Code != ActivationSuccess {
		t.Fatalf("repeated activation of the same tester: %v", resp.Code)
	}
	if resp := raw.activate(0x0E01); resp.Code != ActivationDifferentSource {
		t.Fatalf("second source: %v, want 0x02", resp.Code)
	}
	raw.expectClosed()
}

func TestServerInitialInactivityClosesSocket(t *testing.T) {
	s := echoServer()
	s.InitialInactivity = 100 * time.Millisecond
	addr := startServer(t, s)
	raw := dialRaw(t, addr)
	raw.send(&AliveCheckRequest{}) // anything but an activation does not count
	for {
		h, _, err := raw.rd.Next()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("socket that never activated was not closed")
			}
			return
		}
		if h.Type != TypeAliveCheckResponse {
			t.Fatalf("unexpected %v", h.Type)
		}
	}
}

func TestServerGeneralInactivityClosesActivatedSocket(t *testing.T) {
	s := echoServer()
	s.GeneralInactivity = 100 * time.Millisecond
	addr := startServer(t, s)
	raw := dialRaw(t, addr)
	raw.activate(0x0E00)
	raw.expectClosed()
}

// Frames keep an activated socket open well past T_TCP_General_Inactivity in all, though the
// server moves its read deadline only when it falls due; once they stop, it closes.
func TestServerFramesRestartGeneralInactivity(t *testing.T) {
	s := echoServer()
	s.GeneralInactivity = 300 * time.Millisecond
	raw := dialRaw(t, startServer(t, s))
	raw.activate(0x0E00)
	for i := range byte(10) { // 1 s in all, each gap a third of the timer
		time.Sleep(100 * time.Millisecond)
		raw.send(diag(0x3E, i))
		raw.expectACK()
		raw.expectResponse(0x7E, i)
	}
	start := time.Now()
	raw.expectClosed()
	if idle := time.Since(start); idle < 250*time.Millisecond || idle > 2*time.Second {
		t.Fatalf("closed after %v of inactivity, want about 300ms", idle)
	}
}

func TestServerActivatedSocketOutlivesInitialInactivity(t *testing.T) {
	s := echoServer()
	s.InitialInactivity = 500 * time.Millisecond
	addr := startServer(t, s)
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Wait well past the initial inactivity timer; an activated socket must stay open.
	<-time.After(time.Second)
	if err := conn.Send(ctx, 0x00E0, []byte{0x3E, 0x00}); err != nil {
		t.Fatalf("activated socket was closed: %v", err)
	}
}

func TestServerHandlerPanicClosesOnlyItsSocket(t *testing.T) {
	s := echoServer()
	s.Handler = HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		if r.Data[0] == 0xFF {
			panic("handler bug")
		}
		w.Write([]byte{r.Data[0] + 0x40})
	})
	addr := startServer(t, s)
	ctx := testCtx(t)
	bad, err := (&Client{TesterAddress: 0x0E01}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	bad.Send(ctx, 0x00E0, []byte{0xFF})
	if _, err := bad.Receive(ctx); err == nil {
		t.Fatal("socket of the panicking handler still open")
	}
	good, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if err := good.Send(ctx, 0x00E0, []byte{0x3E}); err != nil {
		t.Fatal(err)
	}
}

func TestServerSlowHandlerDoesNotBlockOtherSockets(t *testing.T) {
	release := make(chan struct{})
	s := echoServer()
	s.Handler = HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		if r.Source == 0x0E01 {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		w.Write([]byte{r.Data[0] + 0x40})
	})
	addr := startServer(t, s)
	ctx := testCtx(t)
	slow, err := (&Client{TesterAddress: 0x0E01}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if err := slow.Send(ctx, 0x00E0, []byte{0x10}); err != nil {
		t.Fatal(err)
	}
	fast, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	if err := fast.Send(ctx, 0x00E0, []byte{0x3E}); err != nil {
		t.Fatal(err)
	}
	if m, err := fast.Receive(ctx); err != nil || m.Data[0] != 0x7E {
		t.Fatalf("fast socket blocked behind the slow one: %v, %v", m, err)
	}
	close(release)
	if m, err := slow.Receive(ctx); err != nil || m.Data[0] != 0x50 {
		t.Fatalf("slow socket: %v, %v", m, err)
	}
}

func TestShutdownEndsHandlersAndRefusesNewWork(t *testing.T) {
	started := make(chan struct{})
	var ended atomic.Bool
	s := echoServer()
	s.Handler = HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		close(started)
		<-ctx.Done()
		ended.Store(true)
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln, nil) }()
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Send(ctx, 0x00E0, []byte{0x10, 0x01}); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if !ended.Load() {
		t.Error("Shutdown returned before the handler")
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v", err)
	}
	if _, err := (&Client{}).Dial(ctx, ln.Addr().String()); err == nil {
		t.Error("Dial succeeded after Shutdown")
	}
	if err := s.Serve(nil, nil); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v", err)
	}
}

func TestShutdownIsBoundedByContext(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	s := echoServer()
	s.Handler = HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) { <-release })
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go s.Serve(ln, nil)
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Send(ctx, 0x00E0, []byte{0x10})
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a stuck handler = %v, want deadline exceeded", err)
	}
}

func TestServerRefusesSocketsBeyondMaxSocketsPlusOne(t *testing.T) {
	s := echoServer()
	s.MaxSockets = 1
	addr := startServer(t, s)
	a, b := dialRaw(t, addr), dialRaw(t, addr)
	a.activate(0x0E00)
	waitFor(t, func() bool { return s.OpenSockets() == 2 })
	c := dialRaw(t, addr)
	c.expectClosed()
	b.send(&AliveCheckRequest{})
	if _, ok := b.next().(*AliveCheckResponse); !ok {
		t.Fatal("spare socket not served")
	}
}

func TestListenAndServe(t *testing.T) {
	// Find a free port on 127.0.0.1, then let ListenAndServe open TCP and UDP on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := echoServer()
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(addr) }()
	defer func() {
		s.Shutdown(context.Background())
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("ListenAndServe = %v", err)
		}
	}()
	waitFor(t, func() bool { return s.Addr() != nil })
	ctx := testCtx(t)
	if st, err := (&Client{}).EntityStatus(ctx, addr); err != nil || st.NodeType != NodeNode {
		t.Fatalf("UDP on the same port: %v, %v", st, err)
	}
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

func TestServerUDPFaults(t *testing.T) {
	addr := startServer(t, echoServer())
	uc, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	uc.SetDeadline(time.Now().Add(20 * time.Second))
	cases := []struct {
		name  string
		frame string
		code  NACKCode
	}{
		{"inverse version mismatch", "02 fc 00 01 00 00 00 00", NACKIncorrectPattern},
		{"unknown payload type", "02 fd 12 34 00 00 00 00", NACKUnknownPayloadType},
		{"TCP-only type on UDP", "02 fd 00 07 00 00 00 00", NACKUnknownPayloadType},
		{"wrong length for EID request", "02 fd 00 02 00 00 00 05 01 02 03 04 05", NACKInvalidLength},
		{"datagram shorter than its header says", "02 fd 00 02 00 00 00 06 01 02 03", NACKInvalidLength},
	}
	buf := make([]byte, 64)
	for _, c := range cases {
		if _, err := uc.Write(hx(t, c.frame)); err != nil {
			t.Fatal(err)
		}
		n, err := uc.Read(buf)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		_, m, err := Unmarshal(buf[:n])
		if g, ok := m.(*GenericNACK); err != nil || !ok || g.Code != c.code {
			t.Errorf("%s: got %#v %v, want generic NACK %v", c.name, m, err, c.code)
		}
	}
	// A default-version identification request is valid and answered.
	uc.Write(hx(t, "ff 00 00 01 00 00 00 00"))
	n, err := uc.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, m, err := Unmarshal(buf[:n]); err != nil || m.Type() != TypeVehicleAnnouncement {
		t.Fatalf("default-version request: %#v, %v", m, err)
	}
}

func TestAnnouncementsReachTheConfiguredAddress(t *testing.T) {
	rx, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	rx.SetDeadline(time.Now().Add(20 * time.Second))
	s := echoServer()
	s.AnnounceCount, s.AnnounceInterval, s.AnnounceTo = 3, 20*time.Millisecond, rx.LocalAddr().String()
	s.FurtherAction = 0x10
	addr := startServer(t, s)
	buf := make([]byte, 64)
	for i := 0; i < 3; i++ {
		n, from, err := rx.ReadFrom(buf)
		if err != nil {
			t.Fatalf("announcement %d: %v", i, err)
		}
		_, m, err := Unmarshal(buf[:n])
		a, ok := m.(*VehicleAnnouncement)
		if err != nil || !ok || a.VIN != testVIN || a.LogicalAddress != 0x00E0 || a.FurtherAction != 0x10 {
			t.Fatalf("announcement %d: %#v, %v", i, m, err)
		}
		if from.String() != addr {
			t.Errorf("announcement from %v, want the entity's UDP port %v", from, addr)
		}
	}
}

// broadcastSocket opens an entity's UDP socket on the loopback broadcast address with
// ListenPacket, whose SO_REUSEADDR lets two entities share the port and both hear a discovery
// broadcast on 127.255.255.255.
func broadcastSocket(t *testing.T, port string) net.PacketConn {
	t.Helper()
	pc, err := ListenPacket(testCtx(t), net.JoinHostPort("127.255.255.255", port))
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

func TestDiscoverCollectsEveryEntity(t *testing.T) {
	first := broadcastSocket(t, "0")
	port := first.LocalAddr().(*net.UDPAddr).Port
	second := broadcastSocket(t, strconv.Itoa(port))
	a, b := echoServer(), echoServer()
	b.LogicalAddress, b.EID = 0x00E1, [6]byte{9, 9, 9, 9, 9, 9}
	serveOn(t, a, nil, first)
	serveOn(t, b, nil, second)
	ctx, cancel := context.WithTimeout(testCtx(t), time.Second)
	defer cancel()
	found, err := (&Client{}).Discover(ctx, net.JoinHostPort("127.255.255.255", strconv.Itoa(port)), IdentifyQuery{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint16]bool{}
	for _, f := range found {
		seen[f.LogicalAddress] = true
		if f.VIN != testVIN || f.From == nil {
			t.Errorf("announcement %+v", f)
		}
	}
	if len(found) != 2 || !seen[0x00E0] || !seen[0x00E1] {
		t.Fatalf("Discover found %+v, want 0x00E0 and 0x00E1", found)
	}
	// With an EID query only the matching entity answers.
	ctx2, cancel2 := context.WithTimeout(testCtx(t), 500*time.Millisecond)
	defer cancel2()
	eid := [6]byte{9, 9, 9, 9, 9, 9}
	found, err = (&Client{}).Discover(ctx2, net.JoinHostPort("127.255.255.255", strconv.Itoa(port)), IdentifyQuery{EID: &eid})
	if err != nil || len(found) != 1 || found[0].LogicalAddress != 0x00E1 {
		t.Fatalf("Discover by EID = %+v, %v", found, err)
	}
}
