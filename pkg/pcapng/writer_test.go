package pcapng

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/session.pcapng from the writer")

var (
	tester = netip.MustParseAddrPort("192.0.2.10:50123")
	ecu    = netip.MustParseAddrPort("192.0.2.20:13400")
	t0     = time.Date(2026, 12, 2, 18, 0, 0, 123456789, time.UTC)
)

// doipMsg is a DoIP message of version 2 with the payload type and payload given.
func doipMsg(typ uint16, payload ...byte) []byte {
	b := []byte{0x02, 0xFD, byte(typ >> 8), byte(typ), 0, 0, 0, 0}
	be.PutUint32(b[4:], uint32(len(payload)))
	return append(b, payload...)
}

// step is one call on the writer: an event or a frame.
type step struct {
	event *Event
	frame *Frame
}

// session is the short conversation of the golden file: handshake, routing activation,
// ReadDataByIdentifier VIN with its diagnostic ACK and response, close.
func session(local, remote netip.AddrPort) []step {
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	vin := []byte("WDB1234561A123456")
	frame := func(ms int, dir Direction, data []byte, comment string) step {
		return step{frame: &Frame{Time: at(ms), Dir: dir, Transport: TCP, Local: local, Remote: remote, Data: data, Comment: comment}}
	}
	return []step{
		{event: &Event{Time: at(0), Kind: Open, Dir: Sent, Local: local, Remote: remote, Comment: "ECU brake-1"}},
		frame(1, Sent, doipMsg(0x0005, 0x0E, 0x00, 0x00, 0, 0, 0, 0), "routing activation"),
		frame(3, Received, doipMsg(0x0006, 0x0E, 0x00, 0x10, 0x01, 0x10, 0, 0, 0, 0), "routing activation"),
		frame(10, Sent, doipMsg(0x8001, 0x0E, 0x00, 0x10, 0x01, 0x22, 0xF1, 0x90), "step read-vin"),
		frame(11, Received, doipMsg(0x8002, 0x10, 0x01, 0x0E, 0x00, 0x00), "step read-vin"),
		frame(25, Received, doipMsg(0x8001, append([]byte{0x10, 0x01, 0x0E, 0x00, 0x62, 0xF1, 0x90}, vin...)...), "step read-vin"),
		{event: &Event{Time: at(30), Kind: Close, Dir: Sent, Local: local, Remote: remote, Comment: "ECU brake-1"}},
	}
}

// record runs steps through a new Writer and returns the file and the writer.
func record(t testing.TB, opts Options, steps []step) ([]byte, *Writer) {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, opts)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	for i, s := range steps {
		var err error
		if s.event != nil {
			err = w.Event(*s.event)
		} else {
			err = w.Frame(*s.frame)
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if w.Bytes() != buf.Len() {
		t.Fatalf("Bytes() = %d, wrote %d", w.Bytes(), buf.Len())
	}
	return buf.Bytes(), w
}

func TestGoldenSession(t *testing.T) {
	got, _ := record(t, Options{}, session(tester, ecu))
	path := filepath.Join("testdata", "session.pcapng")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGoldenSession -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("trace differs from %s (%d bytes, want %d); if the change is intended, rerun with -update and check it with tshark (docs/traces.md)", path, len(got), len(want))
	}
}

// wantPacket is what one packet of the session must be: its sender, TCP flags, sequence and
// acknowledgement numbers relative to each side's ISN (as Wireshark shows them), payload
// length and first comment.
type wantPacket struct {
	dir      Direction
	flags    uint8
	seq, ack uint32
	payload  int
	comment  string
	atMillis int
}

func TestSessionRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name          string
		local, remote netip.AddrPort
	}{
		{"IPv4", tester, ecu},
		{"IPv6", netip.MustParseAddrPort("[2001:db8::10]:50123"), netip.MustParseAddrPort("[2001:db8::20]:13400")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := session(tc.local, tc.remote)
			b, w := record(t, Options{}, steps)
			tr, err := readTrace(b)
			if err != nil {
				t.Fatalf("re-reading the trace: %v", err)
			}
			if len(tr.sectionComments) != 1 || tr.sectionComments[0] != SectionComment {
				t.Errorf("section comments = %q, want [%q]", tr.sectionComments, SectionComment)
			}
			if !strings.Contains(SectionComment, "not captured off the wire") {
				t.Errorf("section comment does not say the trace was rebuilt: %q", SectionComment)
			}
			if tr.linkType != linkTypeEthernet || tr.tsResol != 9 {
				t.Errorf("interface: link type %d, tsresol %d; want Ethernet (1), nanoseconds (9)", tr.linkType, tr.tsResol)
			}
			const (
				syn, ack, psh, fin = flagSYN, flagACK, flagPSH, flagFIN
				c                  = "ECU brake-1: "
			)
			want := []wantPacket{
				{Sent, syn, 0, 0, 0, c + "TCP handshake SYN (synthetic)", 0},
				{Received, syn | ack, 0, 1, 0, c + "TCP handshake SYN-ACK (synthetic)", 0},
				{Sent, ack, 1, 1, 0, c + "TCP handshake ACK (synthetic)", 0},
				{Sent, psh | ack, 1, 1, 15, "routing activation", 1},
				{Received, psh | ack, 1, 16, 17, "routing activation", 3},
				{Sent, psh | ack, 16, 18, 15, "step read-vin", 10},
				{Received, psh | ack, 18, 31, 13, "step read-vin", 11},
				{Received, psh | ack, 31, 31, 32, "step read-vin", 25},
				{Sent, fin | ack, 31, 63, 0, c + "TCP close FIN (synthetic)", 30},
				{Received, fin | ack, 63, 32, 0, c + "TCP close FIN (synthetic)", 30},
				{Sent, ack, 32, 64, 0, c + "TCP close ACK (synthetic)", 30},
			}
			if len(tr.packets) != len(want) {
				t.Fatalf("%d packets, want %d", len(tr.packets), len(want))
			}
			isn := [2]uint32{tr.packets[0].seq, tr.packets[1].seq}
			var frames [][]byte
			for _, s := range steps {
				if s.frame != nil {
					frames = append(frames, s.frame.Data)
				}
			}
			for i, wp := range want {
				p := tr.packets[i]
				other := 1 - wp.dir
				wantSrc, wantDst := tc.local, tc.remote
				wantFlags := uint32(epbFlagsOutbound)
				if wp.dir == Received {
					wantSrc, wantDst, wantFlags = tc.remote, tc.local, epbFlagsInbound
				}
				if p.proto != protoTCP || p.src != wantSrc || p.dst != wantDst {
					t.Errorf("packet %d: proto %d %s -> %s, want TCP %s -> %s", i, p.proto, p.src, p.dst, wantSrc, wantDst)
				}
				if p.tcpFlags != wp.flags {
					t.Errorf("packet %d: TCP flags %#02x, want %#02x", i, p.tcpFlags, wp.flags)
				}
				if got := p.seq - isn[wp.dir]; got != wp.seq {
					t.Errorf("packet %d: relative seq %d, want %d", i, got, wp.seq)
				}
				if wp.flags&ack != 0 {
					if got := p.ack - isn[other]; got != wp.ack {
						t.Errorf("packet %d: relative ack %d, want %d", i, got, wp.ack)
					}
				} else if p.ack != 0 {
					t.Errorf("packet %d: ack %d without the ACK flag", i, p.ack)
				}
				if (wp.flags&syn != 0) != (p.mss == 1460 || p.mss == 1440) {
					t.Errorf("packet %d: MSS option %d", i, p.mss)
				}
				if len(p.payload) != wp.payload {
					t.Errorf("packet %d: payload %d bytes, want %d", i, len(p.payload), wp.payload)
				}
				if len(p.comments) != 1 || p.comments[0] != wp.comment {
					t.Errorf("packet %d: comments %q, want [%q]", i, p.comments, wp.comment)
				}
				if p.flags != wantFlags {
					t.Errorf("packet %d: epb_flags %d, want %d", i, p.flags, wantFlags)
				}
				if wantTS := uint64(t0.Add(time.Duration(wp.atMillis) * time.Millisecond).UnixNano()); p.ts != wantTS {
					t.Errorf("packet %d: timestamp %d, want %d", i, p.ts, wantTS)
				}
				if i >= 3 && i < 3+len(frames) && !bytes.Equal(p.payload, frames[i-3]) {
					t.Errorf("packet %d: payload % x, want the frame % x", i, p.payload, frames[i-3])
				}
			}
			if w.Frames() != len(frames) || w.Dropped() != 0 || w.Truncated() {
				t.Errorf("Frames %d Dropped %d Truncated %v, want %d 0 false", w.Frames(), w.Dropped(), w.Truncated(), len(frames))
			}
		})
	}
}
