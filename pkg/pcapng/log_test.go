package pcapng

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"testing"
	"time"
)

// mixedSteps is a session, a flash of blocks (trimmed), UDP, a large response, and input a Writer refuses
// (a frame without data, a TransferData datagram too large to send, a time before 1970, the
// close of a connection never opened) in among them.
func mixedSteps(blocks int) []step {
	steps := session(tester, ecu)
	open, closing := steps[0], steps[len(steps)-1]
	steps = append([]step{open}, steps[1:len(steps)-1]...)
	at := func(i int) time.Time { return t0.Add(time.Second + time.Duration(i)*time.Millisecond) }
	for i := range blocks {
		steps = append(steps,
			step{frame: &Frame{Time: at(i), Dir: Sent, Local: tester, Remote: ecu, Data: transferData(byte(i+1), 4088), Comment: "step flash"}},
			step{frame: &Frame{Time: at(i), Dir: Received, Local: tester, Remote: ecu, Data: doipMsg(0x8002, 0x10, 0x01, 0x0E, 0x00, 0x00), Comment: "step flash"}},
			step{frame: &Frame{Time: at(i), Dir: Received, Local: tester, Remote: ecu, Data: doipMsg(0x8001, 0x10, 0x01, 0x0E, 0x00, 0x76, byte(i+1)), Comment: "step flash"}})
		switch i {
		case 1:
			steps = append(steps, step{frame: &Frame{Time: at(i), Local: tester, Remote: ecu}})
		case 2:
			steps = append(steps, step{frame: &Frame{Time: at(i), Transport: UDP, Local: udpTester, Remote: udpECU, Data: transferData(1, 70000)}})
		case 3:
			steps = append(steps, step{frame: &Frame{Transport: UDP, Local: udpTester, Remote: udpECU, Data: identReq}})
		case 4:
			steps = append(steps, step{event: &Event{Time: at(i), Kind: Close, Local: udpTester, Remote: udpECU}})
		case 5:
			steps = append(steps, step{frame: &Frame{Time: at(i), Transport: UDP, Local: udpTester, Remote: udpECU, Data: identReq, Comment: "discovery"}})
		case 6: // a read-back larger than a chunk of the Log, kept whole
			steps = append(steps, step{frame: &Frame{Time: at(i), Dir: Received, Local: tester, Remote: ecu,
				Data: doipMsg(0x8001, append([]byte{0x10, 0x01, 0x0E, 0x00, 0x63}, bytes.Repeat([]byte{0x5A}, 70000)...)...), Comment: "step read-back"}})
		}
	}
	return append(steps, closing)
}

// traceSink is a Writer's destination: plain, or gzip with the Writer's budget on the
// compressed bytes as the agent sets it.
type traceSink struct {
	out bytes.Buffer
	zw  *gzip.Writer
	w   *Writer
}

func newTraceSink(t *testing.T, maxBytes int, compressed bool) *traceSink {
	s := &traceSink{}
	opts, dst := Options{MaxBytes: maxBytes}, any(&s.out)
	if compressed {
		s.zw, _ = gzip.NewWriterLevel(&s.out, gzip.BestSpeed)
		opts.Stored, dst = s.out.Len, s.zw
	}
	w, err := NewWriter(dst.(interface{ Write([]byte) (int, error) }), opts)
	if err != nil {
		t.Fatal(err)
	}
	s.w = w
	return s
}

func (s *traceSink) bytes(t *testing.T) []byte {
	if s.zw != nil {
		if err := s.zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return s.out.Bytes()
}

// TestLogReplaysAsRecorded records the same steps into a Writer at once and through a Log
// replayed later: the files are the same byte for byte, with the same counts and the same
// first error, unbounded, with a budget that truncates, and with a compressed budget.
func TestLogReplaysAsRecorded(t *testing.T) {
	steps := mixedSteps(400)
	for _, tt := range []struct {
		name       string
		maxBytes   int
		compressed bool
		truncated  bool
	}{
		{name: "unbounded"},
		{name: "budget", maxBytes: 64 << 10, truncated: true},
		{name: "gzip budget", maxBytes: 8 << 10, compressed: true, truncated: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			direct, logged := newTraceSink(t, tt.maxBytes, tt.compressed), newTraceSink(t, tt.maxBytes, tt.compressed)
			var firstErr error
			var log Log
			for _, s := range steps {
				var err error
				if s.event != nil {
					err = direct.w.Event(*s.event)
					log.Event(*s.event)
				} else {
					err = direct.w.Frame(*s.frame)
					log.Frame(*s.frame)
				}
				if firstErr == nil {
					firstErr = err
				}
			}
			if firstErr == nil {
				t.Fatal("the steps hold bad input, but recording them at once returned no error")
			}
			replayErr := log.Replay(logged.w)
			if fmt.Sprint(replayErr) != fmt.Sprint(firstErr) {
				t.Errorf("Replay returned %v, recording at once first returned %v", replayErr, firstErr)
			}
			if got, want := logged.bytes(t), direct.bytes(t); !bytes.Equal(got, want) {
				t.Errorf("replayed file (%d bytes) differs from the one recorded at once (%d bytes)", len(got), len(want))
			}
			for _, c := range []struct {
				what      string
				got, want any
			}{
				{"Frames", logged.w.Frames(), direct.w.Frames()},
				{"Dropped", logged.w.Dropped(), direct.w.Dropped()},
				{"Truncated", logged.w.Truncated(), direct.w.Truncated()},
				{"Bytes", logged.w.Bytes(), direct.w.Bytes()},
			} {
				if c.got != c.want {
					t.Errorf("%s after Replay = %v, recorded at once %v", c.what, c.got, c.want)
				}
			}
			if direct.w.Truncated() != tt.truncated {
				t.Errorf("Truncated = %v, want %v: the budget does not exercise what it should", direct.w.Truncated(), tt.truncated)
			}
			if log.Size() != 0 {
				t.Errorf("Size after Replay = %d, want 0: a replayed Log keeps nothing", log.Size())
			}
		})
	}
}

// TestLogKeepsWhatTheWriterKeeps logs a flash's blocks: the Log holds their trimmed bytes, not
// the 4 KiB each carried, nor copies of the caller's buffers.
func TestLogKeepsWhatTheWriterKeeps(t *testing.T) {
	var log Log
	const blocks = 1000
	block := transferData(1, 4088)
	for i := range blocks {
		block[13] = byte(i)
		log.Frame(Frame{Time: t0, Local: tester, Remote: ecu, Data: block, Comment: "step flash"})
	}
	block[doipHeaderLen+diagAddressLen+transferDataHeaderLen] = 0xEE // the caller reuses its buffer
	per := log.Size() / blocks
	if per > 2*(trimmedLen+logRecordSize) {
		t.Errorf("Log holds %d bytes per 4 KiB block, want at most %d (trimmed message and record, with append's slack)", per, 2*(trimmedLen+logRecordSize))
	}
	sink := newTraceSink(t, 0, false)
	if err := log.Replay(sink.w); err != nil {
		t.Fatal(err)
	}
	tr, err := readTrace(sink.bytes(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(tr.packets); got != 3+blocks {
		t.Fatalf("%d packets, want the handshake and %d blocks", got, blocks)
	}
	for i, p := range tr.packets[3:] {
		if p.payload[13] != byte(i) || p.payload[14] == 0xEE {
			t.Fatalf("block %d replayed with counter %02X and first data byte %02X: the Log did not keep its own copy", i, p.payload[13], p.payload[14])
		}
	}
}
