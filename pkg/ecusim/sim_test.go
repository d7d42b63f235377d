package ecusim

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

func TestDefaultSessionAndTesterPresent(t *testing.T) {
	s := startSim(t, Config{})
	c := uds.NewClient(dial(t, s), DefaultLogicalAddress)
	expect(t, c, "10 01", "50 01 00 32 01 F4")
	expect(t, c, "10 02", "50 02 00 32 01 F4")
	expect(t, c, "10 03", "50 03 00 32 01 F4")
	expect(t, c, "10 04", "7F 10 12")
	expect(t, c, "10", "7F 10 13")
	expect(t, c, "10 03 00", "7F 10 13")
	expect(t, c, "3E 00", "7E 00")
	expect(t, c, "3E 01", "7F 3E 12")
	expect(t, c, "85 02", "7F 85 11")
	if c.Session() != uds.SessionExtended {
		t.Errorf("client session %v, want extended", c.Session())
	}
}

// 3E 80 gets no answer: the next message on the socket is the answer to the next request.
func TestSuppressedTesterPresentIsSilent(t *testing.T) {
	s := startSim(t, Config{})
	conn := dial(t, s)
	ctx := testContext(t)
	for _, req := range [][]byte{{0x3E, 0x80}, {0x22, 0xF1, 0x90}} {
		if err := conn.Send(ctx, DefaultLogicalAddress, req); err != nil {
			t.Fatal(err)
		}
	}
	m, err := conn.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(m.Data, []byte{0x62, 0xF1, 0x90}) {
		t.Fatalf("first answer after 3E 80 is %s, want the 62 F1 90 answer", uds.FormatHex(m.Data))
	}
}

func TestDefaultDIDs(t *testing.T) {
	s := startSim(t, Config{VIN: "WVWZZZ1JZXW000001"})
	c := uds.NewClient(dial(t, s), DefaultLogicalAddress)
	expect(t, c, "22 F1 90", "62 F1 90 "+hexOf("WVWZZZ1JZXW000001"))
	expect(t, c, "22 F1 87", "62 F1 87 "+hexOf("ECUFLEET-0001"))
	expect(t, c, "22 F1 8C", "62 F1 8C "+hexOf("SIM-00E0"))
	expect(t, c, "22 F1 97", "62 F1 97 "+hexOf("ECUFLEET SIM"))
	expect(t, c, "22 F1 97 F1 87", "62 F1 97 "+hexOf("ECUFLEET SIM")+" F1 87 "+hexOf("ECUFLEET-0001"))
	expect(t, c, "22 F1 97 12 34", "62 F1 97 "+hexOf("ECUFLEET SIM")) // unknown ones are skipped
	expect(t, c, "22 12 34", "7F 22 31")
	expect(t, c, "22 F1", "7F 22 13")
	expect(t, c, "22 F1 90 F1", "7F 22 13")
	if got := uds.DecodeValue([]byte{0x22, 0xF1, 0x90}, ask(t, c, "22 F1 90")); got != "WVWZZZ1JZXW000001" {
		t.Errorf("decoded VIN %q", got)
	}
}

func TestWriteDID(t *testing.T) {
	s := startSim(t, Config{UDS: UDS{DIDs: map[string]DID{
		"0x0100": {Hex: ptr(Hex("00 00")), Writable: true, Protected: true},
	}}})
	c := uds.NewClient(dial(t, s), DefaultLogicalAddress)
	expect(t, c, "2E F1 98 "+hexOf("ABCDEFGHIJ"), "7F 2E 7F") // default session
	expect(t, c, "10 03", "50 03 00 32 01 F4")
	expect(t, c, "2E F1 98 "+hexOf("ABCDEFGHIJ"), "6E F1 98")
	expect(t, c, "22 F1 98", "62 F1 98 "+hexOf("ABCDEFGHIJ"))
	expect(t, c, "2E F1 98 41", "7F 2E 13")          // wrong length
	expect(t, c, "2E F1 98", "7F 2E 13")             // no data
	expect(t, c, "2E F1 90 "+hexOf("X"), "7F 2E 31") // read-only
	expect(t, c, "2E 12 34 00", "7F 2E 31")          // unknown
	expect(t, c, "2E 01 00 12 34", "7F 2E 33")       // protected, locked
	expect(t, c, "27 01", "67 01 11 22 33 44")
	expect(t, c, "27 02 4B 78 69 1E", "67 02")
	expect(t, c, "2E 01 00 12 34", "6E 01 00")
	expect(t, c, "22 01 00", "62 01 00 12 34")
	// A new session locks security access again; the written value stays.
	expect(t, c, "10 03", "50 03 00 32 01 F4")
	expect(t, c, "2E 01 00 56 78", "7F 2E 33")
	expect(t, c, "10 01", "50 01 00 32 01 F4")
	expect(t, c, "22 F1 98", "62 F1 98 "+hexOf("ABCDEFGHIJ"))
}

func TestDTCs(t *testing.T) {
	s := startSim(t, Config{})
	c := uds.NewClient(dial(t, s), DefaultLogicalAddress)
	expect(t, c, "19 01 FF", "59 01 FF 01 00 02")
	expect(t, c, "19 01 01", "59 01 FF 01 00 01") // only P0123-00 has testFailed
	expect(t, c, "19 01 40", "59 01 FF 01 00 00")
	expect(t, c, "19 02 FF", "59 02 FF 01 23 00 2F C1 00 00 08")
	expect(t, c, "19 02 01", "59 02 FF 01 23 00 2F")
	expect(t, c, "19 03 FF", "7F 19 12")
	expect(t, c, "19 02", "7F 19 13")
	expect(t, c, "19", "7F 19 13")
	if got := uds.DecodeValue([]byte{0x19, 0x02, 0xFF}, ask(t, c, "19 02 FF")); got != "P0123-00 status 0x2F, U0100-00 status 0x08" {
		t.Errorf("decoded DTCs %q", got)
	}
	expect(t, c, "14 C1 00 00", "54") // one DTC by its code
	expect(t, c, "19 02 FF", "59 02 FF 01 23 00 2F")
	expect(t, c, "14 12 34 56", "7F 14 31")
	expect(t, c, "14 FF FF", "7F 14 13")
	expect(t, c, "14 FF FF FF", "54")
	expect(t, c, "19 01 FF", "59 01 FF 01 00 00")
	expect(t, c, "19 02 FF", "59 02 FF")
}

func TestSecurityAccess(t *testing.T) {
	s := startSim(t, Config{UDS: UDS{Security: &Security{Levels: []int{1, 3}, MaxAttempts: 2, Lockout: "1h"}}})
	c := uds.NewClient(dial(t, s), DefaultLogicalAddress)
	expect(t, c, "27 01", "7F 27 7F") // default session
	expect(t, c, "10 03", "50 03 00 32 01 F4")
	expect(t, c, "27 02 4B 78 69 1E", "7F 27 24") // key without seed
	expect(t, c, "27 05", "7F 27 12")             // level not configured
	expect(t, c, "27", "7F 27 13")
	expect(t, c, "27 01 00", "7F 27 13")
	expect(t, c, "27 01", "67 01 11 22 33 44")
	expect(t, c, "27 02", "7F 27 13")
	expect(t, c, "27 01", "67 01 11 22 33 44")
	expect(t, c, "27 02 4B 78 69 1E", "67 02")
	expect(t, c, "27 01", "67 01 00 00 00 00") // already unlocked
	expect(t, c, "27 03", "67 03 11 22 33 44")
	expect(t, c, "27 04 00 00 00 00", "7F 27 35")
	expect(t, c, "27 03", "67 03 11 22 33 44")
	expect(t, c, "27 04 00 00 00 00", "7F 27 36") // second wrong key: max attempts
	expect(t, c, "27 03", "7F 27 37")             // locked out
	expect(t, c, "27 01", "7F 27 37")
}

func TestRoutineControl(t *testing.T) {
	s := startSim(t, Config{UDS: UDS{Routines: map[string]Routine{
		"0x0203": {Start: ptr(Hex("")), Stop: ptr(Hex("01")), Results: ptr(Hex("AA BB"))},
	}}})
	c := uds.NewClient(dial(t, s), DefaultLogicalAddress)
	expect(t, c, "31 01 02 03", "7F 31 7F")
	expect(t, c, "10 03", "50 03 00 32 01 F4")
	expect(t, c, "31 03 02 03", "7F 31 24") // results before start
	expect(t, c, "31 01 02 03", "71 01 02 03")
	expect(t, c, "31 03 02 03", "71 03 02 03 AA BB")
	expect(t, c, "31 02 02 03", "71 02 02 03 01")
	expect(t, c, "31 01 FF 01", "7F 31 31") // configured table replaces the default
	expect(t, c, "31 04 02 03", "7F 31 12")
	expect(t, c, "31 01 02", "7F 31 13")
}

func TestDefaultRoutine(t *testing.T) {
	s := startSim(t, Config{})
	c := uds.NewClient(dial(t, s), DefaultLogicalAddress)
	expect(t, c, "10 03", "50 03 00 32 01 F4")
	expect(t, c, "31 01 FF 01", "71 01 FF 01 00")
	expect(t, c, "31 03 FF 01", "71 03 FF 01 00")
	expect(t, c, "31 02 FF 01", "7F 31 12")
}

func TestNegativeMode(t *testing.T) {
	s := startSim(t, Config{Negative: true})
	conn := dial(t, s)
	c := uds.NewClient(conn, DefaultLogicalAddress)
	expect(t, c, "22 F1 90", "7F 22 22")
	expect(t, c, "10 03", "7F 10 22")
	s.SetNegative(false)
	expect(t, c, "22 F1 90", "62 F1 90 "+hexOf(DefaultVIN))
	s.SetNegative(true)
	expect(t, c, "19 01 FF", "7F 19 22")

	// A negative answer is sent even when the request suppresses the positive one.
	ctx := testContext(t)
	if err := conn.Send(ctx, DefaultLogicalAddress, []byte{0x3E, 0x80}); err != nil {
		t.Fatal(err)
	}
	if m, err := conn.Receive(ctx); err != nil || !bytes.Equal(m.Data, []byte{0x7F, 0x3E, 0x22}) {
		t.Fatalf("3E 80 in negative mode: %v %v, want 7F 3E 22", m, err)
	}
}

// A chain of response pending answers whose total (and each gap) exceeds the tester's P2 still
// succeeds, because the tester waits P2* after each 0x78; the raw socket shows every 0x78.
func TestResponsePending(t *testing.T) {
	s := startSim(t, Config{UDS: UDS{ResponsePending: []PendingRule{{Request: "31 01 FF 01", Count: 3, Interval: "300ms"}}}})
	conn := dial(t, s)
	c := uds.NewClient(conn, DefaultLogicalAddress)
	c.P2 = 200 * time.Millisecond
	expect(t, c, "10 03", "50 03 00 32 01 F4")
	c.NetworkMargin = 150 * time.Millisecond // P2 after the session response: 50+150 ms, below each gap
	if p2, _ := c.Timeouts(); p2 >= 300*time.Millisecond {
		t.Fatalf("P2 %v is not below the 300 ms gaps; the test would not prove the switch to P2*", p2)
	}
	expect(t, c, "31 01 FF 01", "71 01 FF 01 00")

	ctx := testContext(t)
	if err := conn.Send(ctx, DefaultLogicalAddress, []byte{0x31, 0x03, 0xFF, 0x01}); err != nil {
		t.Fatal(err)
	}
	m, err := conn.Receive(ctx)
	if err != nil || !bytes.Equal(m.Data, []byte{0x71, 0x03, 0xFF, 0x01, 0x00}) {
		t.Fatalf("unmatched request got %v %v, want an immediate final answer", m, err)
	}
	if err := conn.Send(ctx, DefaultLogicalAddress, []byte{0x31, 0x01, 0xFF, 0x01}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		m, err := conn.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []byte{0x7F, 0x31, 0x78}
		if i == 3 {
			want = []byte{0x71, 0x01, 0xFF, 0x01, 0x00}
		}
		if !bytes.Equal(m.Data, want) {
			t.Fatalf("message %d: %s, want %s", i, uds.FormatHex(m.Data), uds.FormatHex(want))
		}
	}
}

func TestDelayCausesP2Timeout(t *testing.T) {
	s := startSim(t, Config{UDS: UDS{Delays: []DelayRule{{Request: "22 F1 97", Delay: "3s"}}}})
	c := uds.NewClient(dial(t, s), DefaultLogicalAddress)
	c.P2 = 200 * time.Millisecond
	_, err := c.Request(testContext(t), []byte{0x22, 0xF1, 0x97})
	var te *uds.TimeoutError
	if !errors.As(err, &te) || te.Timer != uds.TimerP2 {
		t.Fatalf("got %v, want a P2 timeout", err)
	}
	// The late 62 F1 97 arrives first and is discarded: it does not answer 22 F1 90.
	c.P2 = testTimeout
	expect(t, c, "22 F1 90", "62 F1 90 "+hexOf(DefaultVIN))
}

// A request sent while a delayed answer is pending is acknowledged at once, as ISO 13400-2
// wants, and answered after the delayed one: the simulator serves a socket's requests in order.
// Both requests leave in one write, so the second is in the entity's hands long before the
// delay ends; the frames must then come as ACK, ACK, delayed answer, second answer.
func TestRequestDuringDelayIsACKedAndAnsweredInOrder(t *testing.T) {
	s := startSim(t, Config{UDS: UDS{Delays: []DelayRule{{Request: "22 F1 97", Delay: "2s"}}}})
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(testTimeout))
	rd := doip.NewReader(nc, 0)
	next := func() doip.Message {
		t.Helper()
		h, p, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		m, err := doip.NewMessage(h.Type)
		if err == nil {
			err = m.UnmarshalPayload(p)
		}
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	write := func(ms ...doip.Message) {
		t.Helper()
		var b []byte
		for _, m := range ms {
			b = doip.AppendFrame(b, doip.Version2012, m)
		}
		if _, err := nc.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	write(&doip.RoutingActivationRequest{SourceAddress: doip.DefaultTesterAddress})
	if m, ok := next().(*doip.RoutingActivationResponse); !ok || m.Code != doip.ActivationSuccess {
		t.Fatalf("routing activation: %#v", m)
	}
	request := func(data ...byte) doip.Message {
		return &doip.DiagnosticMessage{Source: doip.DefaultTesterAddress, Target: DefaultLogicalAddress, Data: data}
	}
	write(request(0x22, 0xF1, 0x97), request(0x22, 0xF1, 0x90))
	for i := range 2 {
		if m, ok := next().(*doip.DiagnosticACK); !ok {
			t.Fatalf("frame %d: %#v, want the diagnostic ACK of request %d", i+1, m, i+1)
		}
	}
	for _, want := range []string{"62 F1 97 " + hexOf("ECUFLEET SIM"), "62 F1 90 " + hexOf(DefaultVIN)} {
		m, ok := next().(*doip.DiagnosticMessage)
		if !ok || uds.FormatHex(m.Data) != want {
			t.Fatalf("got %#v, want the answer %s", m, want)
		}
	}
}

func TestResetBootAndReconnect(t *testing.T) {
	s := startSim(t, Config{BootTime: "2s"})
	conn := dial(t, s)
	c := uds.NewClient(conn, DefaultLogicalAddress)
	ctx := testContext(t)
	expect(t, c, "10 03", "50 03 00 32 01 F4")
	expect(t, c, "11 01", "51 01")
	if _, err := conn.Receive(ctx); err == nil {
		t.Fatal("connection still delivers messages after the reset")
	}
	client := &doip.Client{}
	if pm, err := client.PowerMode(ctx, s.Addr().String()); err != nil || pm.Mode != doip.PowerModeNotReady {
		t.Fatalf("power mode while booting: %v %v, want not ready", pm, err)
	}
	_, err := client.Dial(ctx, s.Addr().String())
	var ae *doip.ActivationError
	if !errors.As(err, &ae) || ae.Response.Code != bootDenial {
		t.Fatalf("dial while booting: %v, want an activation denial", err)
	}
	if err := conn.Reconnect(ctx, 0); err != nil {
		t.Fatalf("reconnect after boot: %v", err)
	}
	expect(t, c, "2E F1 98 "+hexOf("ABCDEFGHIJ"), "7F 2E 7F") // the reset ended the extended session
	expect(t, c, "22 F1 90", "62 F1 90 "+hexOf(DefaultVIN))
	if pm, err := client.PowerMode(ctx, s.Addr().String()); err != nil || pm.Mode != doip.PowerModeReady {
		t.Fatalf("power mode after boot: %v %v", pm, err)
	}
	st := s.Stats()
	if st.Resets != 1 || st.DeniedActivations == 0 {
		t.Fatalf("stats %+v, want one reset and at least one denied activation", st)
	}
	expect(t, c, "11 04", "7F 11 12")
	expect(t, c, "11 01 00", "7F 11 13")
}

func TestGatewayWithSeveralECUs(t *testing.T) {
	s := startSim(t, Config{BootTime: "2s", ECUs: []ECU{{
		LogicalAddress: 0x00E1,
		UDS:            UDS{DIDs: map[string]DID{"0x0100": {Text: ptr("ECU-B")}}, DTCs: []DTC{}},
	}}})
	conn := dial(t, s)
	a := uds.NewClient(conn, DefaultLogicalAddress)
	b := uds.NewClient(conn, 0x00E1)
	expect(t, b, "22 01 00", "62 01 00 "+hexOf("ECU-B"))
	expect(t, a, "22 01 00", "7F 22 31")
	expect(t, b, "22 F1 8C", "62 F1 8C "+hexOf("SIM-00E1"))
	expect(t, b, "22 F1 90", "62 F1 90 "+hexOf(DefaultVIN))
	expect(t, b, "19 01 FF", "59 01 FF 01 00 00")
	expect(t, a, "19 01 FF", "59 01 FF 01 00 02")
	// Sessions are per ECU.
	expect(t, b, "10 03", "50 03 00 32 01 F4")
	expect(t, a, "2E F1 98 "+hexOf("ABCDEFGHIJ"), "7F 2E 7F")
	expect(t, b, "2E F1 98 "+hexOf("ABCDEFGHIJ"), "6E F1 98")

	ctx := testContext(t)
	var nack *doip.DiagnosticNACKError
	if err := conn.Send(ctx, 0x00E2, []byte{0x22, 0xF1, 0x90}); !errors.As(err, &nack) || nack.Code != doip.DiagNACKUnknownTarget {
		t.Fatalf("unknown target: %v, want diagnostic NACK 0x03", err)
	}
	st, err := (&doip.Client{}).EntityStatus(ctx, s.Addr().String())
	if err != nil || st.NodeType != doip.NodeGateway {
		t.Fatalf("entity status %+v %v, want a gateway", st, err)
	}

	// Resetting the ECU behind the gateway keeps the connection; that ECU is silent while it
	// boots, the gateway's own ECU keeps answering.
	expect(t, b, "11 01", "51 01")
	b.P2 = 200 * time.Millisecond
	var te *uds.TimeoutError
	if _, err := b.Request(ctx, []byte{0x22, 0x01, 0x00}); !errors.As(err, &te) {
		t.Fatalf("booting ECU answered: %v", err)
	}
	expect(t, a, "22 F1 8C", "62 F1 8C "+hexOf("SIM-00E0"))
}

func TestActivationDenials(t *testing.T) {
	code := uint8(doip.ActivationUnknownSource)
	s := startSim(t, Config{DenyActivation: &ActivationDenial{Code: &code, First: 2}})
	ctx := testContext(t)
	for i := range 2 {
		_, err := (&doip.Client{}).Dial(ctx, s.Addr().String())
		var ae *doip.ActivationError
		if !errors.As(err, &ae) || ae.Response.Code != doip.ActivationUnknownSource {
			t.Fatalf("attempt %d: %v, want a denial with code 0x00", i+1, err)
		}
	}
	c := uds.NewClient(dial(t, s), DefaultLogicalAddress)
	expect(t, c, "3E 00", "7E 00")
	if st := s.Stats(); st.Activations != 3 || st.DeniedActivations != 2 {
		t.Fatalf("stats %+v, want 3 activations, 2 denied", st)
	}

	always := startSim(t, Config{DenyActivation: &ActivationDenial{Code: &code, Always: true}})
	for range 3 {
		var ae *doip.ActivationError
		if _, err := (&doip.Client{}).Dial(ctx, always.Addr().String()); !errors.As(err, &ae) {
			t.Fatalf("always: %v, want a denial", err)
		}
	}
}

func TestPauseResume(t *testing.T) {
	s := startSim(t, Config{})
	conn := dial(t, s)
	c := uds.NewClient(conn, DefaultLogicalAddress)
	expect(t, c, "3E 00", "7E 00")
	ctx := testContext(t)
	quick := &doip.Client{ControlTimeout: 300 * time.Millisecond}

	s.Pause()
	if _, err := conn.Receive(ctx); err == nil {
		t.Fatal("connection survived Pause")
	}
	if _, err := quick.Dial(ctx, s.Addr().String()); err == nil {
		t.Fatal("a paused simulator accepted a tester")
	}
	if st, err := quick.EntityStatus(ctx, s.Addr().String()); err == nil {
		t.Fatalf("a paused simulator answered entity status: %+v", st)
	}
	eventually(t, "the ignored datagram is counted", func() bool { return s.Stats().Datagrams > 0 })

	s.Resume()
	if err := conn.Reconnect(ctx, 0); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "22 F1 90", "62 F1 90 "+hexOf(DefaultVIN))
	if _, err := quick.EntityStatus(ctx, s.Addr().String()); err != nil {
		t.Fatalf("entity status after Resume: %v", err)
	}
}

func TestIdentification(t *testing.T) {
	s := startSim(t, Config{LogicalAddress: 0x1001, VIN: "WVWZZZ1JZXW000001", GID: "AA:BB:CC:DD:EE:FF"})
	ctx := testContext(t)
	client := &doip.Client{}
	a, err := client.Identify(ctx, s.Addr().String(), doip.IdentifyQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if string(a.VIN[:]) != "WVWZZZ1JZXW000001" || a.LogicalAddress != 0x1001 ||
		a.EID != [6]byte{0x02, 0, 0, 0, 0x10, 0x01} || a.GID != [6]byte{0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF} {
		t.Fatalf("announcement %+v", a)
	}
	st, err := client.EntityStatus(ctx, s.Addr().String())
	if err != nil || st.NodeType != doip.NodeNode || st.MaxSockets != 4 {
		t.Fatalf("entity status %+v %v", st, err)
	}
	pm, err := client.PowerMode(ctx, s.Addr().String())
	if err != nil || pm.Mode != doip.PowerModeReady {
		t.Fatalf("power mode %+v %v", pm, err)
	}
}

func TestAnnouncements(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	startSim(t, Config{Announce: Announce{Count: 2, Interval: "50ms", To: pc.LocalAddr().String()}})
	pc.SetReadDeadline(time.Now().Add(testTimeout))
	buf := make([]byte, 64)
	for i := range 2 {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("announcement %d: %v", i+1, err)
		}
		_, m, err := doip.Unmarshal(buf[:n])
		a, ok := m.(*doip.VehicleAnnouncement)
		if err != nil || !ok || string(a.VIN[:]) != DefaultVIN || a.LogicalAddress != DefaultLogicalAddress {
			t.Fatalf("announcement %d: %+v %v", i+1, m, err)
		}
	}
}

func TestStartTwiceAndPortInUse(t *testing.T) {
	s := startSim(t, Config{})
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("second Start succeeded")
	}
	other, err := New(Config{Listen: s.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Start(context.Background()); err == nil {
		t.Fatal("Start on a used port succeeded")
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	s, err := New(Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	eventually(t, "Run listens", func() bool { return s.Addr() != nil })
	c := uds.NewClient(dial(t, s), DefaultLogicalAddress)
	expect(t, c, "3E 00", "7E 00")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := (&doip.Client{}).Dial(testContext(t), s.Addr().String()); err == nil {
		t.Fatal("simulator still accepts testers after Run returned")
	}
}

func ptr[T any](v T) *T { return &v }
