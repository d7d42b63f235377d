package ecusim

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// writableDIDConfig is an ECU with a DID the tests write (2E) in the extended session.
func writableDIDConfig() Config {
	return Config{UDS: UDS{DIDs: map[string]DID{"0x0100": {Hex: ptr(Hex("00 00")), Writable: true}}}}
}

// writeOnce opens the extended session and sends 2E 01 00 value; it returns the Send's error
// and, when the ACK came, the Receive's.
func writeOnce(t *testing.T, s *Sim, value string) (sendErr, receiveErr error) {
	t.Helper()
	conn := dial(t, s)
	defer conn.Close()
	expect(t, uds.NewClient(conn, DefaultLogicalAddress), "10 03", "50 03 00 32 01 F4")
	req, err := uds.ParseHex("2E 01 00 " + value)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	if err := conn.Send(ctx, DefaultLogicalAddress, req); err != nil {
		return err, nil
	}
	m, err := conn.Receive(ctx)
	if err == nil && !bytes.Equal(m.Data, []byte{0x6E, 0x01, 0x00}) {
		t.Fatalf("2E answered % X", m.Data)
	}
	return nil, err
}

// readDID0100 reads the DID on a new connection.
func readDID0100(t *testing.T, s *Sim) string {
	t.Helper()
	conn := dial(t, s)
	defer conn.Close()
	return uds.FormatHex(ask(t, uds.NewClient(conn, DefaultLogicalAddress), "22 01 00"))
}

func TestDropBeforeACKNeverReachesTheECU(t *testing.T) {
	s := startSim(t, writableDIDConfig())
	if err := s.DropConnection(0x2E, 1, DropBeforeACK); err != nil {
		t.Fatal(err)
	}
	sendErr, _ := writeOnce(t, s, "12 34")
	if !errors.Is(sendErr, doip.ErrNotAcknowledged) {
		t.Fatalf("Send = %v, want doip.ErrNotAcknowledged", sendErr)
	}
	if n := s.RequestCount(0x2E); n != 0 {
		t.Errorf("RequestCount(2E) = %d after a drop before the ACK, want 0", n)
	}
	if got := readDID0100(t, s); got != "62 01 00 00 00" {
		t.Errorf("DID 0100 = %s, want it unwritten", got)
	}
	if n := s.DropsInjected(); n != 1 {
		t.Errorf("DropsInjected = %d, want 1", n)
	}
}

func TestDropAfterACKOfTheSecondWrite(t *testing.T) {
	s := startSim(t, writableDIDConfig())
	if err := s.DropConnection(0x2E, 2, DropAfterACK); err != nil {
		t.Fatal(err)
	}
	if sendErr, recvErr := writeOnce(t, s, "11 11"); sendErr != nil || recvErr != nil {
		t.Fatalf("first write: send %v, receive %v; the fault is for the second", sendErr, recvErr)
	}
	sendErr, recvErr := writeOnce(t, s, "22 22")
	if sendErr != nil {
		t.Fatalf("Send = %v, want the ACK before the drop", sendErr)
	}
	if recvErr == nil || errors.Is(recvErr, doip.ErrNotAcknowledged) {
		t.Fatalf("Receive = %v, want a lost connection without doip.ErrNotAcknowledged", recvErr)
	}
	if n := s.RequestCount(0x2E); n != 2 {
		t.Errorf("RequestCount(2E) = %d, want 2: the ECU served the acknowledged write", n)
	}
	if got := readDID0100(t, s); got != "62 01 00 22 22" {
		t.Errorf("DID 0100 = %s, want the second write", got)
	}
	// One-shot: the next write passes.
	if sendErr, recvErr := writeOnce(t, s, "33 33"); sendErr != nil || recvErr != nil {
		t.Fatalf("write after the fault fired: send %v, receive %v", sendErr, recvErr)
	}
	if n := s.DropsInjected(); n != 1 {
		t.Errorf("DropsInjected = %d, want 1", n)
	}
}

func TestDropConnectionRejectsBadArguments(t *testing.T) {
	s := startSim(t, Config{})
	if err := s.DropConnection(0x2E, 0, DropAfterACK); err == nil {
		t.Error("nth 0 accepted")
	}
	if err := s.DropConnection(0x2E, 1, DropPoint(9)); err == nil {
		t.Error("unknown drop point accepted")
	}
}

// TestFaultConnFollowsSplitFrames feeds a socket's byte stream one byte at a time, as TCP may
// deliver it, and checks that the request that must drop is cut a byte short.
func TestFaultConnFollowsSplitFrames(t *testing.T) {
	f := &faults{}
	f.sid, f.left, f.at = 0x2E, 1, DropBeforeACK
	f.armed.Store(true)
	c := &faultConn{f: f}
	var stream []byte
	stream = doip.AppendFrame(stream, doip.Version2012, &doip.AliveCheckResponse{SourceAddress: 0x0E00})
	stream = doip.AppendFrame(stream, doip.Version2012, &doip.DiagnosticMessage{Source: 0x0E00, Target: 0x00E0, Data: []byte{0x22, 0xF1, 0x90}})
	target := len(stream)
	stream = doip.AppendFrame(stream, doip.Version2012, &doip.DiagnosticMessage{Source: 0x0E00, Target: 0x00E0, Data: []byte{0x2E, 0x01, 0x00, 0x12}})
	for i := range stream {
		keep, drop := c.scanRead(stream[i : i+1])
		if drop {
			if want := target + diagPrefixLen - 1; i != want || keep != 0 {
				t.Fatalf("dropped at byte %d keeping %d, want at %d keeping 0", i, keep, want)
			}
			if c.received != 2 {
				t.Errorf("received %d diagnostic messages, want 2", c.received)
			}
			return
		}
	}
	t.Fatal("the 2E request was not recognised")
}
