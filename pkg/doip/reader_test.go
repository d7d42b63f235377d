package doip

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"testing/iotest"
)

// countingReader counts the bytes the Reader pulls from its source.
type countingReader struct {
	r    io.Reader
	read int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	return n, err
}

func framesForReader(t *testing.T) ([]byte, []Message) {
	msgs := []Message{
		&RoutingActivationRequest{SourceAddress: 0x0E00},
		&DiagnosticMessage{Source: 0x0E00, Target: 0x00E0, Data: []byte{0x22, 0xF1, 0x90}},
		&AliveCheckRequest{},
		&DiagnosticMessage{Source: 0x0E00, Target: 0x00E0, Data: bytes.Repeat([]byte{0x36}, 9000)},
		&DiagnosticACK{Source: 0x00E0, Target: 0x0E00},
	}
	var stream []byte
	for _, m := range msgs {
		stream = AppendFrame(stream, Version2012, m)
	}
	return stream, msgs
}

func readAll(t *testing.T, rd *Reader, n int) []Message {
	t.Helper()
	var got []Message
	for i := 0; i < n; i++ {
		h, p, err := rd.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		m, _ := NewMessage(h.Type)
		if err := m.UnmarshalPayload(p); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		got = append(got, m)
	}
	if _, _, err := rd.Next(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	return got
}

func TestReaderReassemblesSplitAndCoalescedFrames(t *testing.T) {
	stream, msgs := framesForReader(t)
	readers := map[string]io.Reader{
		"coalesced":    bytes.NewReader(stream),
		"byte by byte": iotest.OneByteReader(bytes.NewReader(stream)),
		"half reads":   iotest.HalfReader(bytes.NewReader(stream)),
		"data and EOF": iotest.DataErrReader(bytes.NewReader(stream)),
	}
	for name, r := range readers {
		t.Run(name, func(t *testing.T) {
			got := readAll(t, NewReader(r, 0), len(msgs))
			for i := range msgs {
				if !bytes.Equal(Marshal(Version2012, got[i]), Marshal(Version2012, msgs[i])) {
					t.Errorf("frame %d differs", i)
				}
			}
		})
	}
}

func TestReaderRefusesHugeHeaderWithoutAllocating(t *testing.T) {
	huge := Header{Version: Version2012, Type: TypeDiagnosticMessage, Length: 0xFFFFFFFF}.Marshal(nil)
	// The announced payload never comes: the Reader must answer at once, not wait or allocate.
	cr := &countingReader{r: bytes.NewReader(huge)}
	rd := NewReader(cr, 4096)
	_, _, err := rd.Next()
	de := asError(t, err)
	if de.NACK != NACKMessageTooLarge || de.Close {
		t.Fatalf("got %v, want message too large without close", err)
	}
	if len(rd.buf) > initialReadBuffer {
		t.Errorf("buffer grew to %d bytes for a refused frame", len(rd.buf))
	}
	// The stream ends inside the skipped payload: that is an unexpected EOF.
	if _, _, err := rd.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("after the refused frame: %v, want unexpected EOF", err)
	}
}

func TestReaderSkipsOversizeAndUnknownPayloadsAndStaysInSync(t *testing.T) {
	var stream []byte
	stream = AppendFrame(stream, Version2012, &DiagnosticMessage{Source: 1, Target: 2, Data: bytes.Repeat([]byte{0xAA}, 100000)})
	stream = Header{Version: Version2012, Type: 0xF010, Length: 3}.Marshal(stream)
	stream = append(stream, 1, 2, 3)
	stream = AppendFrame(stream, Version2012, &AliveCheckResponse{SourceAddress: 0x0E07})
	cr := &countingReader{r: iotest.HalfReader(bytes.NewReader(stream))}
	rd := NewReader(cr, 1024)
	_, _, err := rd.Next()
	if de := asError(t, err); de.NACK != NACKMessageTooLarge || de.Close {
		t.Fatalf("oversize: %v", err)
	}
	h, _, err := rd.Next()
	if de := asError(t, err); de.NACK != NACKUnknownPayloadType || de.Close || h.Type != 0xF010 {
		t.Fatalf("unknown type: %v %v", h, err)
	}
	h, p, err := rd.Next()
	if err != nil || h.Type != TypeAliveCheckResponse || !bytes.Equal(p, []byte{0x0E, 0x07}) {
		t.Fatalf("frame after the skipped ones: %v % x %v", h, p, err)
	}
	if max := HeaderLen + 1024; len(rd.buf) > max {
		t.Errorf("buffer is %d bytes, limit was %d", len(rd.buf), max)
	}
}

func TestReaderFatalFaultsAreSticky(t *testing.T) {
	cases := map[string]string{
		"inverse version": "02 fc 00 07 00 00 00 00",
		"wrong length":    "02 fd 00 07 00 00 00 01 00",
		"default version": "ff 00 80 01 00 00 00 05 0e 00 00 01 3e",
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			stream := append(hx(t, s), Marshal(Version2012, &AliveCheckRequest{})...)
			rd := NewReader(bytes.NewReader(stream), 0)
			_, _, err1 := rd.Next()
			if de := asError(t, err1); !de.Close {
				t.Fatalf("%v: want close", err1)
			}
			if _, _, err2 := rd.Next(); err2 != err1 {
				t.Errorf("second Next = %v, want the same fault %v", err2, err1)
			}
		})
	}
}

func TestReaderTruncatedStreams(t *testing.T) {
	frame := Marshal(Version2012, &DiagnosticMessage{Source: 1, Target: 2, Data: []byte{1, 2, 3}})
	for cut := 1; cut < len(frame); cut++ {
		_, _, err := NewReader(bytes.NewReader(frame[:cut]), 0).Next()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d: %v, want unexpected EOF", cut, err)
		}
	}
	if _, _, err := NewReader(bytes.NewReader(nil), 0).Next(); err != io.EOF {
		t.Errorf("empty stream: %v, want io.EOF", err)
	}
}

type noProgressReader struct{}

func (noProgressReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderStopsOnAReaderThatNeverProgresses(t *testing.T) {
	if _, _, err := NewReader(noProgressReader{}, 0).Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("got %v, want io.ErrNoProgress", err)
	}
}

func TestReaderDecodeAllocatesNothingInSteadyState(t *testing.T) {
	frame := Marshal(Version2012, &DiagnosticMessage{Source: 1, Target: 2, Data: []byte{0x22, 0xF1, 0x90}})
	src := bytes.NewReader(nil)
	rd := NewReader(src, 0)
	var m DiagnosticMessage
	step := func() {
		src.Reset(frame)
		h, p, err := rd.Next()
		if err != nil || h.Type != TypeDiagnosticMessage {
			t.Fatal(err)
		}
		if err := m.UnmarshalPayload(p); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if a := testing.AllocsPerRun(100, step); a != 0 {
		t.Errorf("%v allocs per frame, want 0", a)
	}
}

// scriptedReader returns its chunks one Read at a time; a nil chunk is an expired read deadline.
type scriptedReader struct{ chunks [][]byte }

func (s *scriptedReader) Read(p []byte) (int, error) {
	if len(s.chunks) == 0 {
		return 0, io.EOF
	}
	c := s.chunks[0]
	if c == nil {
		s.chunks = s.chunks[1:]
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(p, c)
	if n == len(c) {
		s.chunks = s.chunks[1:]
	} else {
		s.chunks[0] = c[n:]
	}
	return n, nil
}

// A read deadline that expires anywhere in a frame (inside the header, inside the payload,
// between frames) is returned as is and is not sticky: the next call resumes the same frame,
// which is how a Conn's caller and its background reader take turns on one socket.
func TestReaderResumesAfterDeadlineMidFrame(t *testing.T) {
	stream, want := framesForReader(t)
	for _, cut := range []int{0, 3, HeaderLen, HeaderLen + 2, len(stream) - 1} {
		src := &scriptedReader{chunks: [][]byte{stream[:cut], nil, stream[cut:]}}
		if cut == 0 {
			src.chunks = src.chunks[1:]
		}
		rd := NewReader(src, 0)
		var got []Message
		timeouts := 0
		for {
			h, p, err := rd.Next()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				timeouts++
				continue
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("cut at %d: frame %d: %v", cut, len(got), err)
			}
			m, _ := NewMessage(h.Type)
			if err := m.UnmarshalPayload(p); err != nil {
				t.Fatalf("cut at %d: frame %d: %v", cut, len(got), err)
			}
			got = append(got, m)
		}
		if timeouts != 1 {
			t.Errorf("cut at %d: %d timeouts returned, want 1", cut, timeouts)
		}
		if len(got) != len(want) {
			t.Fatalf("cut at %d: %d frames, want %d", cut, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(Marshal(Version2012, got[i]), Marshal(Version2012, want[i])) {
				t.Errorf("cut at %d: frame %d = %#v, want %#v", cut, i, got[i], want[i])
			}
		}
	}
}

// buffered is true exactly when the next Next reads nothing from the socket, wherever the
// stream is cut between reads, so a caller may skip setting a read deadline then and only then.
func TestReaderBufferedMeansNextReadsNothing(t *testing.T) {
	stream, want := framesForReader(t)
	for cut := 0; cut <= len(stream); cut++ {
		src := &countingReader{r: &scriptedReader{chunks: [][]byte{stream[:cut], stream[cut:]}}}
		rd := NewReader(src, 0)
		for i := range want {
			before, buffered := src.read, rd.buffered()
			if _, _, err := rd.Next(); err != nil {
				t.Fatalf("cut at %d: frame %d: %v", cut, i, err)
			}
			// With the stream in one read, the two small frames after the first are in the
			// Reader's first 4 KiB (the 9000-byte frame then needs reads of its own).
			if cut == len(stream) && (i == 1 || i == 2) && !buffered {
				t.Errorf("one read: frame %d not reported buffered", i)
			}
			if buffered && src.read != before {
				t.Errorf("cut at %d: frame %d reported buffered, but Next read %d bytes", cut, i, src.read-before)
			}
			if !buffered && src.read == before {
				t.Errorf("cut at %d: frame %d not reported buffered, but Next read nothing", cut, i)
			}
		}
	}
}
