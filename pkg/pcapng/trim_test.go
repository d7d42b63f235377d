package pcapng

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// transferData is a DoIP diagnostic message carrying TransferData block counter with n data
// bytes.
func transferData(counter byte, n int) []byte {
	uds := []byte{0x0E, 0x00, 0x10, 0x01, 0x36, counter}
	for i := 0; i < n; i++ {
		uds = append(uds, byte(i))
	}
	return doipMsg(0x8001, uds...)
}

func TestTrimTransferData(t *testing.T) {
	msg := transferData(7, 4094)
	orig := bytes.Clone(msg)
	if !trims(&Frame{Data: msg}) {
		t.Fatal("a 4094-byte TransferData block is not trimmed")
	}
	got, note := trimmed(&Frame{Data: msg})
	if !bytes.Equal(msg, orig) {
		t.Fatal("trimming modified the caller's message")
	}
	if len(got) != 8+4+2+TransferDataKeep {
		t.Fatalf("trimmed message is %d bytes, want %d", len(got), 8+4+2+TransferDataKeep)
	}
	if l := be.Uint32(got[4:]); int(l) != len(got)-8 {
		t.Errorf("DoIP payload length %d, message payload %d", l, len(got)-8)
	}
	if !bytes.Equal(got[8:], msg[8:len(got)]) || !bytes.Equal(got[:4], msg[:4]) {
		t.Errorf("trimmed message is not the original's prefix with a new length")
	}
	want := fmt.Sprintf("%d of %d data bytes kept (DoIP message of %d bytes, now %d)", TransferDataKeep, 4094, len(msg), len(got))
	if !strings.Contains(note, want) {
		t.Errorf("note %q does not contain %q", note, want)
	}

	for name, m := range map[string][]byte{
		"short TransferData":   transferData(1, TransferDataKeep),
		"ReadDataByIdentifier": doipMsg(0x8001, append([]byte{0x0E, 0x00, 0x10, 0x01, 0x22}, make([]byte, 200)...)...),
		"diagnostic ACK copy":  doipMsg(0x8002, append([]byte{0x10, 0x01, 0x0E, 0x00, 0x00, 0x36, 0x01}, make([]byte, 200)...)...),
		"length mismatch":      append(transferData(1, 100), 0xAA),
		"header only":          doipMsg(0x8001),
	} {
		if trims(&Frame{Data: m}) {
			t.Errorf("%s: trimmed, want unchanged", name)
		}
	}
}

var (
	udpTester = netip.MustParseAddrPort("192.0.2.10:50124")
	udpECU    = netip.MustParseAddrPort("192.0.2.20:13400")
	identReq  = doipMsg(0x0001)
	announce  = doipMsg(0x0004, append(append([]byte("WDB1234561A123456"), 0x10, 0x01), make([]byte, 13)...)...)
	bigWrite  = doipMsg(0x8001, append([]byte{0x0E, 0x00, 0x10, 0x01, 0x2E, 0xF1, 0x99}, bytes.Repeat([]byte{0x5A}, 3500)...)...)
	block     = transferData(1, 4094)
)

// flashSession is a UDP identification exchange, then a TCP connection with activation, a
// message longer than the MSS (split) and a long TransferData block (trimmed).
func flashSession() []step {
	udp := func(dir Direction, data []byte) step {
		return step{frame: &Frame{Time: t0, Dir: dir, Transport: UDP, Local: udpTester, Remote: udpECU, Data: data, Comment: "discover"}}
	}
	tcp := func(ms int, dir Direction, data []byte, comment string) step {
		return step{frame: &Frame{Time: t0.Add(time.Duration(ms) * time.Millisecond), Dir: dir, Transport: TCP, Local: tester, Remote: ecu, Data: data, Comment: comment}}
	}
	return []step{
		udp(Sent, identReq),
		udp(Received, announce),
		{event: &Event{Time: t0.Add(time.Millisecond), Kind: Open, Dir: Sent, Local: tester, Remote: ecu}},
		tcp(2, Sent, doipMsg(0x0005, 0x0E, 0x00, 0x00, 0, 0, 0, 0), "routing activation"),
		tcp(3, Received, doipMsg(0x0006, 0x0E, 0x00, 0x10, 0x01, 0x10, 0, 0, 0, 0), "routing activation"),
		tcp(4, Sent, bigWrite, "step write"),
		tcp(5, Received, doipMsg(0x8002, 0x10, 0x01, 0x0E, 0x00, 0x00), "step write"),
		tcp(6, Received, doipMsg(0x8001, 0x10, 0x01, 0x0E, 0x00, 0x6E, 0xF1, 0x99), "step write"),
		tcp(7, Sent, block, "step flash"),
		tcp(8, Received, doipMsg(0x8002, 0x10, 0x01, 0x0E, 0x00, 0x00), "step flash"),
		tcp(9, Received, doipMsg(0x8001, 0x10, 0x01, 0x0E, 0x00, 0x76, 0x01), "step flash"),
		{event: &Event{Time: t0.Add(10 * time.Millisecond), Kind: Close, Dir: Received, Local: tester, Remote: ecu}},
	}
}

// TestFlashSessionRoundTrip reads back the flash session: the tester's TCP stream is its
// messages with the block trimmed, segments stay within the MSS, UDP datagrams are intact.
func TestFlashSessionRoundTrip(t *testing.T) {
	b, w := record(t, Options{}, flashSession())
	tr, err := readTrace(b)
	if err != nil {
		t.Fatalf("re-reading: %v", err)
	}
	var stream [2][]byte
	var udp [][]byte
	var blockComments [][]string
	var bigSegs []int
	for i, p := range tr.packets {
		if p.proto == protoUDP {
			udp = append(udp, p.payload)
			continue
		}
		if len(p.payload) > 1460 {
			t.Errorf("packet %d: segment of %d bytes exceeds the MSS", i, len(p.payload))
		}
		dir := Sent
		if p.src == ecu {
			dir = Received
		}
		stream[dir] = append(stream[dir], p.payload...)
		if p.comments[0] == "step flash" && dir == Sent {
			blockComments = append(blockComments, p.comments)
		}
		if strings.HasPrefix(p.comments[0], "step write (TCP segment") {
			bigSegs = append(bigSegs, len(p.payload))
		}
	}
	trimmedBlock, _ := trimmed(&Frame{Data: block})
	wantSent := slices.Concat(doipMsg(0x0005, 0x0E, 0x00, 0x00, 0, 0, 0, 0), bigWrite, trimmedBlock)
	if !bytes.Equal(stream[Sent], wantSent) {
		t.Errorf("tester's TCP stream is %d bytes, want %d (activation, the split message, the trimmed block)", len(stream[Sent]), len(wantSent))
	}
	if fmt.Sprint(bigSegs) != "[1460 1460 595]" {
		t.Errorf("split message segments %v, want [1460 1460 595]", bigSegs)
	}
	if len(blockComments) != 1 || len(blockComments[0]) != 2 || !strings.Contains(blockComments[0][1], "of 4094 data bytes") {
		t.Errorf("TransferData comments %q, want the step and the original size", blockComments)
	}
	if len(udp) != 2 || !bytes.Equal(udp[0], identReq) || !bytes.Equal(udp[1], announce) {
		t.Errorf("UDP payloads %x, want the identification request and announcement", udp)
	}
	if w.Frames() != 10 {
		t.Errorf("Frames() = %d, want 10", w.Frames())
	}
}

// TestSplitFramesRecordAsWhole records frames given in two parts (Data and Tail, as a hooked
// doip link reports a flash block sent from the caller's buffer) and the same frames whole:
// the files are the same byte for byte, recorded at once and through a Log, wherever the
// split falls (inside the header, after the SID and counter, before the last byte).
func TestSplitFramesRecordAsWhole(t *testing.T) {
	steps := mixedSteps(8)
	whole := recordAll(newTraceSink(t, 0, false), steps)
	for _, at := range []int{3, 14, -1} {
		t.Run(fmt.Sprintf("split at %d", at), func(t *testing.T) {
			split := make([]step, len(steps))
			for i, s := range steps {
				split[i] = s
				if s.frame == nil || len(s.frame.Data) < 16 {
					continue
				}
				f := *s.frame
				n := at
				if n < 0 {
					n = len(f.Data) - 1
				}
				f.Data, f.Tail = f.Data[:n:n], f.Data[n:]
				split[i].frame = &f
			}
			got := recordAll(newTraceSink(t, 0, false), split)
			if !bytes.Equal(got, whole) {
				t.Errorf("recorded at once: %d bytes, whole frames give %d", len(got), len(whole))
			}
			var log Log
			for _, s := range split {
				if s.event != nil {
					log.Event(*s.event)
				} else {
					log.Frame(*s.frame)
				}
			}
			logged := newTraceSink(t, 0, false)
			log.Replay(logged.w)
			if got := logged.bytes(t); !bytes.Equal(got, whole) {
				t.Errorf("through a Log: %d bytes, whole frames give %d", len(got), len(whole))
			}
		})
	}
}

// recordAll records steps into s's Writer, the bad input among them refused as it comes, and
// returns the file.
func recordAll(s *traceSink, steps []step) []byte {
	for _, st := range steps {
		if st.event != nil {
			s.w.Event(*st.event)
		} else {
			s.w.Frame(*st.frame)
		}
	}
	return s.out.Bytes()
}
