package pcapng

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// SectionComment is the section header's comment: readers must know the packets around the
// DoIP messages were rebuilt, so timings below the message level and TCP details mean nothing.
const SectionComment = "Rebuilt by ecufleet from the DoIP messages it sent and received, not captured off the wire: " +
	"Ethernet, IP and TCP/UDP headers, the TCP handshake, segmentation and FIN exchange are synthetic; " +
	"TransferData blocks are trimmed to their first 64 data bytes."

const (
	// maxUDPPayload is the largest DoIP message one UDP datagram can carry over IPv4.
	maxUDPPayload = 65535 - ipv4Len - udpLen
	// maxComment bounds a packet comment so one long step name cannot bloat every segment.
	maxComment = 1024
	// maxMSS keeps a segment inside the 16-bit IP length fields.
	maxMSS = 65535 - ipv6Len - tcpLen - 4
	// minMSS keeps a large message from exploding into millions of segments.
	minMSS = 64
)

// Options configures a Writer; the zero value is an unbounded trace with default MSS.
type Options struct {
	// MaxBytes bounds the pcapng bytes written (headers included); zero means no bound.
	// Once a frame does not fit, it and every later frame are counted, not stored.
	MaxBytes int
	// MSS is the most DoIP bytes one TCP segment carries; zero means 1460 on IPv4 and 1440
	// on IPv6 (a 1500-byte Ethernet MTU).
	MSS int
	// Application names the recording program in the section header; "ecufleet" when empty.
	Application string
	// Stored, when set, is how many bytes the destination holds so far, for a destination
	// that compresses (gzip for the job's ConfigMap): MaxBytes then bounds Stored() plus the
	// uncompressed size of what the compressor may still hold and of the next write, with
	// deflate's worst-case growth, which holds however badly it compresses. When the io.Writer
	// has a Flush() error method (gzip.Writer does), the Writer calls it only once that bound
	// would pass MaxBytes, to count exactly from then on: a flush per frame would cost a
	// flash's every block a compressor flush. Leave room for the compressor's trailer.
	Stored func() int
}

// Writer turns DoIP frames and connection events, in time order, into pcapng on an
// io.Writer. It is safe for concurrent use, so a connection's reader and writer goroutines
// can both record into it.
type Writer struct {
	mu        sync.Mutex
	w         io.Writer
	opts      Options
	written   int
	unflushed int // bytes written since the compressor's last flush (with Options.Stored)
	frames    int
	dropped   int
	truncated bool
	err       error
	ipID      uint16
	opened    int
	conns     map[connKey]*tcpConn
	pending   []byte
}

// flusher is a destination that buffers, such as gzip.Writer.
type flusher interface{ Flush() error }

// NewWriter writes the section header and interface description to w and returns a Writer
// for the packets.
func NewWriter(w io.Writer, opts Options) (*Writer, error) {
	if opts.MaxBytes < 0 {
		return nil, fmt.Errorf("pcapng: MaxBytes %d is negative: use 0 for no bound", opts.MaxBytes)
	}
	if opts.MSS != 0 && (opts.MSS < minMSS || opts.MSS > maxMSS) {
		return nil, fmt.Errorf("pcapng: MSS %d is outside %d..%d: use 0 for the Ethernet default", opts.MSS, minMSS, maxMSS)
	}
	if opts.Application == "" {
		opts.Application = "ecufleet"
	}
	hdr := sectionHeader(SectionComment, cleanComment(opts.Application))
	hdr = append(hdr, interfaceDescription("doip")...)
	if opts.MaxBytes != 0 && len(hdr) > opts.MaxBytes {
		return nil, fmt.Errorf("pcapng: MaxBytes %d is below the %d bytes of the file header: raise it", opts.MaxBytes, len(hdr))
	}
	wr := &Writer{w: w, opts: opts, conns: make(map[connKey]*tcpConn)}
	if _, err := w.Write(hdr); err != nil {
		return nil, fmt.Errorf("pcapng: writing the file header: %w", err)
	}
	wr.written = len(hdr)
	if opts.Stored != nil {
		wr.unflushed = len(hdr)
	}
	return wr, nil
}

// Truncated reports whether the byte budget ran out, so later frames or connection events
// were not stored.
func (w *Writer) Truncated() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.truncated
}

// Dropped is the number of frames counted but not stored because the budget ran out.
func (w *Writer) Dropped() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dropped
}

// Frames is the number of frames stored in the trace.
func (w *Writer) Frames() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.frames
}

// Bytes is the number of pcapng bytes written so far, before any compression.
func (w *Writer) Bytes() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.written
}

// Event records a TCP connection opening (handshake) or closing (FIN exchange).
func (w *Writer) Event(e Event) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	key, err := socketKey(e.Local, e.Remote)
	if err != nil {
		return err
	}
	ts, err := timestamp(e.Time)
	if err != nil {
		return err
	}
	if e.Dir > Received {
		return fmt.Errorf("pcapng: event direction %d is neither Sent nor Received", e.Dir)
	}
	if w.truncated {
		return nil
	}
	w.pending = w.pending[:0]
	switch e.Kind {
	case Open:
		if w.conns[key] != nil {
			return fmt.Errorf("pcapng: open of %s -> %s, which is already open: record its close first", e.Local, e.Remote)
		}
		w.handshake(key, e.Dir, ts, cleanComment(e.Comment))
	case Close:
		c := w.conns[key]
		if c == nil {
			return fmt.Errorf("pcapng: close of %s -> %s, which is not open: record its open first", e.Local, e.Remote)
		}
		w.finish(key, c, e.Dir, ts, cleanComment(e.Comment))
	default:
		return fmt.Errorf("pcapng: event kind %d is neither Open nor Close", e.Kind)
	}
	return w.flush(false)
}

// Frame records one DoIP message: as TCP segments of its connection (opening one with a
// synthetic handshake if the trace has not seen it) or as a UDP datagram.
func (w *Writer) Frame(f Frame) error { return w.frame(f, 0) }

// frame is Frame of a message that a Log may have trimmed already: orig, when not 0, is its
// length before, so that it is not trimmed again and its note gives the length sent.
func (w *Writer) frame(f Frame, orig int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	key, err := socketKey(f.Local, f.Remote)
	if err != nil {
		return err
	}
	ts, err := timestamp(f.Time)
	if err != nil {
		return err
	}
	if f.Dir > Received {
		return fmt.Errorf("pcapng: frame direction %d is neither Sent nor Received", f.Dir)
	}
	size := f.size()
	if orig > 0 {
		size = orig
	}
	if size == 0 {
		return errors.New("pcapng: frame has no data: pass the whole DoIP message, header included")
	}
	if f.Transport > UDP {
		return fmt.Errorf("pcapng: frame transport %d is neither TCP nor UDP", f.Transport)
	}
	if f.Transport == UDP && size > maxUDPPayload {
		return fmt.Errorf("pcapng: UDP frame of %d bytes exceeds the %d a datagram holds", size, maxUDPPayload)
	}
	if w.truncated {
		w.dropped++
		return nil
	}
	trim := orig == 0 && trims(&f)
	stored := size // what the trace keeps of the message
	switch {
	case orig > 0:
		stored = len(f.Data)
	case trim:
		stored = trimmedLen
	}
	if !w.fits(stored) {
		// Cannot fit whatever the headers: drop it before building its packets, so a huge
		// frame costs no allocation.
		w.truncated = true
		w.dropped++
		return nil
	}
	data, trimNote := f.Data, ""
	switch {
	case orig > 0:
		trimNote = string(appendTrimNote(nil, orig))
	case trim:
		data, trimNote = trimmed(&f)
	case len(f.Tail) > 0:
		data = f.appendMessage(make([]byte, 0, size))
	}
	comments := []string{cleanComment(f.Comment)}
	if comments[0] == "" {
		comments[0] = describe(data)
	}
	if trimNote != "" {
		comments = append(comments, trimNote)
	}
	w.pending = w.pending[:0]
	e := orient(f.Dir, key.local, key.remote)
	if f.Transport == UDP {
		w.pending = appendPacket(w.pending, ts, buildUDP(e, w.nextID(), data), f.Dir, comments)
		return w.flush(true)
	}
	c := w.conns[key]
	if c == nil {
		c = w.handshake(key, Sent, ts, "connection opened before the trace started")
	}
	mss := w.mss(key)
	n := (len(data) + mss - 1) / mss
	for i := 0; i < n; i++ {
		chunk := data[i*mss : min((i+1)*mss, len(data))]
		seg := tcpSegment{seq: c.next[f.Dir], ack: c.next[1-f.Dir], flags: flagACK}
		cs := comments
		if n > 1 {
			cs = append([]string{fmt.Sprintf("%s (TCP segment %d of %d)", comments[0], i+1, n)}, comments[1:]...)
		}
		if i == n-1 {
			seg.flags |= flagPSH
		}
		w.pending = appendPacket(w.pending, ts, buildTCP(e, w.nextID(), seg, chunk), f.Dir, cs)
		c.next[f.Dir] += uint32(len(chunk))
	}
	return w.flush(true)
}

// flush writes w.pending if it fits the budget; otherwise it marks the trace truncated and
// counts the frame (when the pending packets are one) as dropped.
func (w *Writer) flush(isFrame bool) error {
	if !w.fits(len(w.pending)) {
		w.truncated = true
		if isFrame {
			w.dropped++
		}
		return nil
	}
	if _, err := w.w.Write(w.pending); err != nil {
		w.err = fmt.Errorf("pcapng: writing packets: %w", err)
		return w.err
	}
	w.written += len(w.pending)
	if w.opts.Stored != nil {
		w.unflushed += len(w.pending)
	}
	if isFrame {
		w.frames++
	}
	return nil
}

// fits reports whether n more bytes stay within MaxBytes. With a compressing destination it
// first counts what the compressor may still hold at its worst, and flushes it to count
// exactly only when that bound is too high.
func (w *Writer) fits(n int) bool {
	if w.opts.MaxBytes == 0 {
		return true
	}
	if w.stored()+n <= w.opts.MaxBytes {
		return true
	}
	f, ok := w.w.(flusher)
	if !ok || w.opts.Stored == nil || w.unflushed == 0 {
		return false
	}
	if err := f.Flush(); err != nil {
		w.err = fmt.Errorf("pcapng: flushing packets: %w", err)
		return false
	}
	w.unflushed = 0
	return w.stored()+n <= w.opts.MaxBytes
}

// stored is the bytes the budget counts as used: the destination's own count when given,
// plus, for what the compressor may still hold, its uncompressed size and deflate's
// worst-case growth (5 bytes per stored block of up to 64 KiB) and a flush marker.
func (w *Writer) stored() int {
	if w.opts.Stored != nil {
		if w.unflushed == 0 {
			return w.opts.Stored()
		}
		return w.opts.Stored() + w.unflushed + 5*(w.unflushed/65535+1) + 16
	}
	return w.written
}

func (w *Writer) nextID() uint16 {
	w.ipID++
	return w.ipID
}

// socketKey validates and normalises a socket's addresses: IPv4-mapped IPv6 becomes IPv4 and
// zones are dropped, so both ends are of one family.
func socketKey(local, remote netip.AddrPort) (connKey, error) {
	if !local.IsValid() || !remote.IsValid() {
		return connKey{}, fmt.Errorf("pcapng: socket %s -> %s lacks an address: set Local and Remote", local, remote)
	}
	norm := func(ap netip.AddrPort) netip.AddrPort {
		return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
	}
	k := connKey{norm(local), norm(remote)}
	if k.local.Addr().Is4() != k.remote.Addr().Is4() {
		return connKey{}, fmt.Errorf("pcapng: socket %s -> %s mixes IPv4 and IPv6", local, remote)
	}
	return k, nil
}

var maxTime = time.Unix(0, 1<<63-1)

// timestamp is t in nanoseconds since the epoch, the IDB's resolution.
func timestamp(t time.Time) (uint64, error) {
	if t.Before(time.Unix(0, 0)) || t.After(maxTime) {
		return 0, fmt.Errorf("pcapng: time %s is outside 1970..2262, which pcapng cannot hold: set the frame's Time", t)
	}
	return uint64(t.UnixNano()), nil
}

// cleanComment makes s valid UTF-8 of at most maxComment bytes, as pcapng comments must be.
func cleanComment(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxComment {
		return s
	}
	cut := maxComment
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// synthetic is the comment of a packet the writer made up: what it is, and why.
func synthetic(why, what string) string {
	if why == "" {
		return what + " (synthetic)"
	}
	return why + ": " + what + " (synthetic)"
}

// describe is the comment of a frame recorded without one: its DoIP payload type.
func describe(msg []byte) string {
	if len(msg) < doipHeaderLen {
		return fmt.Sprintf("%d bytes, shorter than a DoIP header", len(msg))
	}
	return fmt.Sprintf("DoIP payload type 0x%04X outside any step", be.Uint16(msg[2:]))
}
