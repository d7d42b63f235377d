package pcapng

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBudget checks a bounded trace is a prefix of the unbounded one cut at a whole frame,
// that it re-reads, and that every frame is either stored or counted as dropped.
func TestBudget(t *testing.T) {
	steps := flashSession()
	const frames = 10
	full, _ := record(t, Options{}, steps)
	header, _ := record(t, Options{}, nil)
	for _, max := range []int{len(header), len(header) + 1, len(header) + 400, len(full) / 2, len(full) - 1, len(full)} {
		got, w := record(t, Options{MaxBytes: max}, steps)
		if len(got) > max {
			t.Errorf("MaxBytes %d: wrote %d bytes", max, len(got))
		}
		if !bytes.HasPrefix(full, got) {
			t.Errorf("MaxBytes %d: the bounded trace is not a prefix of the unbounded one", max)
		}
		if _, err := readTrace(got); err != nil {
			t.Errorf("MaxBytes %d: re-reading: %v", max, err)
		}
		if w.Frames()+w.Dropped() != frames {
			t.Errorf("MaxBytes %d: %d stored + %d dropped, want %d frames", max, w.Frames(), w.Dropped(), frames)
		}
		if w.Truncated() != (max < len(full)) || (w.Dropped() > 0 && !w.Truncated()) {
			t.Errorf("MaxBytes %d: Truncated %v with %d dropped", max, w.Truncated(), w.Dropped())
		}
	}
	// A budget that holds every frame but not the closing FIN exchange still truncates.
	if _, w := record(t, Options{MaxBytes: len(full) - 1}, steps); !w.Truncated() || w.Dropped() != 0 {
		t.Errorf("close cut off: Truncated %v, Dropped %d; want true, 0", w.Truncated(), w.Dropped())
	}
	// Once full, a later frame small enough to fit is still dropped: the trace stays a
	// prefix of the conversation.
	_, w := record(t, Options{MaxBytes: len(header) + 1000}, steps)
	if w.Frames() != 4 || w.Dropped() != 6 {
		t.Errorf("cut at the split message: %d stored, %d dropped; want 4 and 6", w.Frames(), w.Dropped())
	}
}

func TestBadInput(t *testing.T) {
	v6 := netip.MustParseAddrPort("[2001:db8::1]:13400")
	good := Frame{Time: t0, Transport: TCP, Local: tester, Remote: ecu, Data: doipMsg(0x0007)}
	for name, f := range map[string]func(Frame) Frame{
		"no local address":   func(f Frame) Frame { f.Local = netip.AddrPort{}; return f },
		"mixed families":     func(f Frame) Frame { f.Remote = v6; return f },
		"time before 1970":   func(f Frame) Frame { f.Time = time.Time{}; return f },
		"time after 2262":    func(f Frame) Frame { f.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC); return f },
		"no data":            func(f Frame) Frame { f.Data = nil; return f },
		"unknown direction":  func(f Frame) Frame { f.Dir = 5; return f },
		"unknown transport":  func(f Frame) Frame { f.Transport = 7; return f },
		"oversized datagram": func(f Frame) Frame { f.Transport = UDP; f.Data = make([]byte, 70000); return f },
	} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, Options{})
		if err != nil {
			t.Fatal(err)
		}
		before := buf.Len()
		if err := w.Frame(f(good)); err == nil || !strings.HasPrefix(err.Error(), "pcapng: ") {
			t.Errorf("%s: error %v, want a pcapng error", name, err)
		}
		if buf.Len() != before || w.Frames() != 0 {
			t.Errorf("%s: rejected frame wrote %d bytes", name, buf.Len()-before)
		}
	}

	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Options{})
	open := Event{Time: t0, Kind: Open, Local: tester, Remote: ecu}
	if err := w.Event(Event{Time: t0, Kind: Close, Local: tester, Remote: ecu}); err == nil {
		t.Error("close of a connection never opened: no error")
	}
	if err := w.Event(open); err != nil {
		t.Fatal(err)
	}
	if err := w.Event(open); err == nil {
		t.Error("second open of an open connection: no error")
	}
	if err := w.Event(Event{Time: t0, Kind: 9, Local: tester, Remote: ecu}); err == nil {
		t.Error("unknown event kind: no error")
	}

	for name, o := range map[string]Options{
		"negative budget":          {MaxBytes: -1},
		"budget below the header":  {MaxBytes: 10},
		"MSS too small":            {MSS: 10},
		"MSS beyond the IP length": {MSS: 70000},
	} {
		if _, err := NewWriter(&bytes.Buffer{}, o); err == nil {
			t.Errorf("%s: NewWriter accepted %+v", name, o)
		}
	}
}

// failAfter accepts n writes, then fails every one.
type failAfter struct{ n int }

var errDisk = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errDisk
	}
	f.n--
	return len(p), nil
}

func TestWriteErrorSticks(t *testing.T) {
	w, err := NewWriter(&failAfter{n: 1}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := Frame{Time: t0, Transport: UDP, Local: udpTester, Remote: udpECU, Data: identReq}
	if err := w.Frame(f); !errors.Is(err, errDisk) {
		t.Fatalf("first failing write: %v, want %v", err, errDisk)
	}
	if err := w.Event(Event{Time: t0, Kind: Open, Local: tester, Remote: ecu}); !errors.Is(err, errDisk) {
		t.Errorf("after a failed write: %v, want the same error", err)
	}
}

// TestImplicitOpen checks a frame on a connection the trace never saw opened gets a
// synthetic handshake first, so Wireshark still follows the stream.
func TestImplicitOpen(t *testing.T) {
	b, _ := record(t, Options{}, session(tester, ecu)[1:])
	tr, err := readTrace(b)
	if err != nil {
		t.Fatal(err)
	}
	if tr.packets[0].tcpFlags != flagSYN || tr.packets[1].tcpFlags != flagSYN|flagACK ||
		!strings.Contains(tr.packets[0].comments[0], "opened before the trace started") {
		t.Errorf("first packets %#x %#x %q, want a commented synthetic handshake", tr.packets[0].tcpFlags, tr.packets[1].tcpFlags, tr.packets[0].comments)
	}
}

// TestBudgetCompressed bounds the gzipped trace rather than the pcapng: the writer flushes
// the gzip.Writer once its worst-case count nears the budget, stores more than MaxBytes of
// pcapng, and the gzip output, trailer included, stays within it.
func TestBudgetCompressed(t *testing.T) {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	const budget = 16 << 10
	w, err := NewWriter(zw, Options{MaxBytes: budget - 64, Stored: out.Len})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Event(Event{Time: t0, Kind: Open, Local: tester, Remote: ecu}); err != nil {
		t.Fatal(err)
	}
	const frames = 2000
	for i := 0; i < frames; i++ {
		f := Frame{Time: t0.Add(time.Duration(i) * time.Millisecond), Dir: Direction(i % 2), Transport: TCP,
			Local: tester, Remote: ecu, Data: doipMsg(0x8001, 0x0E, 0x00, 0x10, 0x01, 0x3E, 0x00), Comment: "step keepalive"}
		if err := w.Frame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("frames %d dropped %d pcapng %d gz %d", w.Frames(), w.Dropped(), w.Bytes(), out.Len())
	if out.Len() > budget {
		t.Errorf("gzipped trace is %d bytes, budget %d", out.Len(), budget)
	}
	if w.Bytes() <= budget || !w.Truncated() || w.Frames()+w.Dropped() != frames {
		t.Errorf("stored %d pcapng bytes, Truncated %v, %d stored + %d dropped; want more than %d bytes, truncated, %d frames",
			w.Bytes(), w.Truncated(), w.Frames(), w.Dropped(), budget, frames)
	}
	zr, err := gzip.NewReader(&out)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if tr, err := readTrace(raw); err != nil || len(tr.packets) != 3+w.Frames() {
		t.Errorf("re-reading the gzipped trace: %v", err)
	}
}

// TestConcurrentRecording records from two goroutines at once, as a connection's reader and
// writer do: every frame is stored whole.
func TestConcurrentRecording(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const each = 200
	var wg sync.WaitGroup
	for _, dir := range []Direction{Sent, Received} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				f := Frame{Time: t0, Dir: dir, Transport: TCP, Local: tester, Remote: ecu, Data: doipMsg(0x0007), Comment: "alive check"}
				if err := w.Frame(f); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	tr, err := readTrace(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.packets) != 3+2*each || w.Frames() != 2*each {
		t.Errorf("%d packets, %d frames; want %d and %d", len(tr.packets), w.Frames(), 3+2*each, 2*each)
	}
}

// countingFlusher is a compressing destination that counts the Writer's flushes.
type countingFlusher struct {
	*gzip.Writer
	flushes int
}

func (c *countingFlusher) Flush() error { c.flushes++; return c.Writer.Flush() }

// TestBudgetFlushesOnlyNearTheEnd: far within the budget, frames are not followed by a flush
// of the compressor each (a flash's thousands of blocks would each pay one); near it, the
// writer flushes to count exactly, and the output still stays within the budget.
func TestBudgetFlushesOnlyNearTheEnd(t *testing.T) {
	for _, tc := range []struct {
		name        string
		budget      int
		wantFlushes func(int) bool
	}{
		{"far within", 1 << 20, func(n int) bool { return n == 0 }},
		{"reached", 8 << 10, func(n int) bool { return n > 0 && n < 2000 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			zw := &countingFlusher{Writer: gzip.NewWriter(&out)}
			w, err := NewWriter(zw, Options{MaxBytes: tc.budget - 64, Stored: out.Len})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2000; i++ {
				f := Frame{Time: t0.Add(time.Duration(i) * time.Millisecond), Dir: Direction(i % 2), Transport: TCP,
					Local: tester, Remote: ecu, Data: doipMsg(0x8001, 0x0E, 0x00, 0x00, 0xE0, 0x36, byte(i), byte(i>>8), 1, 2, 3, 4)}
				if err := w.Frame(f); err != nil {
					t.Fatal(err)
				}
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			if !tc.wantFlushes(zw.flushes) {
				t.Errorf("%d flushes for 2000 frames (truncated %v)", zw.flushes, w.Truncated())
			}
			if out.Len() > tc.budget {
				t.Errorf("gzipped trace is %d bytes, budget %d", out.Len(), tc.budget)
			}
		})
	}
}
