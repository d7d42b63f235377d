package doip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// initialReadBuffer is the buffer a Reader starts with; it grows only for larger frames.
const initialReadBuffer = 4096

// Reader is the TCP framer: it cuts a byte stream into frames whatever the segmentation, and
// never buffers more than HeaderLen plus its maximum payload, whatever a header announces.
//
// An unknown payload type (NACK 0x01) or an oversize payload (NACK 0x02) is returned as an
// *Error without Close; the payload is then skipped in bounded chunks at the start of the next
// call to Next, so the stream stays in sync without ever holding the payload. A pattern fault
// (NACK 0x00) or a wrong length for the type (NACK 0x04) is an *Error with Close set; the Reader
// then returns that same error forever, since the stream can no longer be trusted. An expired
// read deadline is returned as is and leaves the Reader ready to resume mid-frame, so the
// goroutines sharing a socket can take turns reading it.
type Reader struct {
	r          io.Reader
	max        uint32
	buf        []byte
	start, end int    // buf[start:end] is read but not yet consumed
	skip       uint64 // payload bytes of a refused frame still to discard
	err        error  // sticky fault after which the stream is unusable
}

// NewReader returns a framer over r that refuses payloads above maxPayload (0 means
// DefaultMaxPayload).
func NewReader(r io.Reader, maxPayload uint32) *Reader {
	if maxPayload == 0 {
		maxPayload = DefaultMaxPayload
	}
	return &Reader{r: r, max: maxPayload}
}

// Next returns the next frame's header and payload. The payload aliases the Reader's buffer and
// is valid until the next call. At a clean end of stream between frames it returns io.EOF; in
// the middle of a frame, io.ErrUnexpectedEOF.
func (r *Reader) Next() (Header, []byte, error) {
	if r.err != nil {
		return Header{}, nil, r.err
	}
	if err := r.discard(); err != nil {
		return Header{}, nil, r.fail(err)
	}
	if err := r.fill(HeaderLen); err != nil {
		return Header{}, nil, r.fail(err)
	}
	var h Header
	if err := h.Unmarshal(r.buf[r.start : r.start+HeaderLen]); err != nil {
		return Header{}, nil, r.fail(err)
	}
	if !h.Type.Known() {
		r.start += HeaderLen
		r.skip = uint64(h.Length)
		return h, nil, checkLength(h.Type, h.Length)
	}
	if h.Length > r.max {
		r.start += HeaderLen
		r.skip = uint64(h.Length)
		return h, nil, &Error{NACK: NACKMessageTooLarge,
			Err: fmt.Errorf("%v payload of %d bytes exceeds the maximum of %d; raise the receiver's maximum payload", h.Type, h.Length, r.max)}
	}
	if err := checkLength(h.Type, h.Length); err != nil {
		r.start += HeaderLen
		return h, nil, r.fail(err)
	}
	// The header stays unconsumed until the whole frame is read, so a read deadline that
	// expires mid-frame leaves the Reader where a retried Next resumes.
	n := HeaderLen + int(h.Length)
	if err := r.fill(n); err != nil {
		return h, nil, r.fail(midFrame(err))
	}
	p := r.buf[r.start+HeaderLen : r.start+n : r.start+n]
	r.start += n
	return h, p, nil
}

// buffered reports whether the next frame is already read whole, so Next will not read the
// socket and its caller need not set a read deadline: an entity's ACK and response come in one
// segment, and the response is then read without a clock read.
func (r *Reader) buffered() bool {
	n := r.end - r.start
	return r.err == nil && r.skip == 0 && n >= HeaderLen &&
		uint64(n) >= HeaderLen+uint64(binary.BigEndian.Uint32(r.buf[r.start+4:]))
}

// fail makes err sticky: after it the stream position is unknown. A timeout (an expired read
// deadline) is not sticky: the Reader keeps what it has read, and the next call resumes.
func (r *Reader) fail(err error) error {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		r.err = err
	}
	return err
}

// detach moves the unread bytes to a buffer of their own, so payloads returned before stay
// intact while the next owner reads on: a Handler may still be reading the last one.
func (r *Reader) detach() {
	if r.buf == nil {
		return
	}
	b := make([]byte, len(r.buf))
	r.end = copy(b, r.buf[r.start:r.end])
	r.start, r.buf = 0, b
}

// discard drops the payload of a refused frame, one buffer at a time.
func (r *Reader) discard() error {
	for r.skip > 0 {
		if r.start == r.end {
			if err := r.fill(1); err != nil {
				return midFrame(err)
			}
		}
		n := uint64(r.end - r.start)
		if n > r.skip {
			n = r.skip
		}
		r.start += int(n)
		r.skip -= n
	}
	return nil
}

// fill makes at least n unread bytes available, growing the buffer only up to what one
// accepted frame needs.
func (r *Reader) fill(n int) error {
	if r.end-r.start >= n {
		return nil
	}
	if r.start == r.end {
		// Nothing unread: start over at the front, so that the next frame lands whole in one
		// read instead of being split at the buffer's end (a flash's 4 KiB blocks were).
		r.start, r.end = 0, 0
	}
	if r.buf == nil {
		r.buf = make([]byte, max(n, min(initialReadBuffer, HeaderLen+int(r.max))))
	}
	if len(r.buf)-r.start < n {
		if len(r.buf) < n {
			grown := make([]byte, max(n, min(2*len(r.buf), HeaderLen+int(r.max))))
			r.end = copy(grown, r.buf[r.start:r.end])
			r.buf = grown
		} else {
			r.end = copy(r.buf, r.buf[r.start:r.end])
		}
		r.start = 0
	}
	for empty := 0; r.end-r.start < n; {
		m, err := r.r.Read(r.buf[r.end:])
		r.end += m
		switch {
		case err != nil && r.end-r.start >= n:
			return nil
		case err != nil && errors.Is(err, io.EOF) && r.end > r.start:
			return io.ErrUnexpectedEOF
		case err != nil:
			return err
		case m == 0:
			if empty++; empty > 100 {
				return io.ErrNoProgress
			}
		}
	}
	return nil
}

// midFrame turns a clean end of stream inside a frame into io.ErrUnexpectedEOF.
func midFrame(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// last is the whole frame (header and payload) the last successful Next returned, for a
// FrameHook; h is that frame's header.
func (r *Reader) last(h Header) []byte {
	n := HeaderLen + int(h.Length)
	return r.buf[r.start-n : r.start : r.start]
}
