package flashimage

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"sort"
)

// DefaultMaxSize bounds the data bytes of one image when Options.MaxSize is zero: far above
// any ECU application, far below what would hurt an agent.
const DefaultMaxSize = 64 << 20

// addressSpace is the end of the 32-bit address space images live in.
const addressSpace = 1 << 32

// Segment is a contiguous run of bytes at an address: what one 0x34 announces.
type Segment struct {
	// Address is the first byte's address.
	Address uint32
	// Data is the run's bytes; Address+len(Data) never exceeds 4 GiB.
	Data []byte
}

// End is the address one past the segment's last byte.
func (s Segment) End() uint64 { return uint64(s.Address) + uint64(len(s.Data)) }

// Image is a parsed flash file: its segments sorted by address, non-empty, neither
// overlapping nor touching (adjacent runs are merged), and the start address if the file
// names one.
type Image struct {
	// Segments in ascending address order.
	Segments []Segment
	// Start is the entry point from an Intel HEX 03/05 or S-record S7/S8/S9 record, or nil.
	Start *uint32
}

// Size is the number of data bytes over all segments.
func (im *Image) Size() int64 {
	var n int64
	for _, s := range im.Segments {
		n += int64(len(s.Data))
	}
	return n
}

// CRC32 is the CRC-32 (IEEE, as zlib computes it) of every segment byte in address order:
// the value the simulator's check routine compares, and the usual checksum of a flashed
// application.
func (im *Image) CRC32() uint32 {
	var c uint32
	for _, s := range im.Segments {
		c = crc32.Update(c, crc32.IEEETable, s.Data)
	}
	return c
}

// Error is a refused image: the format, the line (0 for binary data or a whole-file
// problem) and why.
type Error struct {
	// Format is the format being parsed.
	Format Format
	// Line is the 1-based line number of the offending record, or 0.
	Line int
	// Reason says what is wrong and, where it helps, what to do.
	Reason string
}

// Error names the format, the line and the reason.
func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("flash image (%s): %s", e.Format, e.Reason)
	}
	return fmt.Sprintf("flash image (%s) line %d: %s", e.Format, e.Line, e.Reason)
}

// chunk is a run of records' data before sorting and merging, with the lines it came from.
type chunk struct {
	addr           uint64
	data           []byte
	line, lastLine int
}

// lines names the chunk's source lines for errors.
func (c chunk) lines() string {
	if c.line == c.lastLine {
		return fmt.Sprintf("line %d", c.line)
	}
	return fmt.Sprintf("lines %d-%d", c.line, c.lastLine)
}

// builder collects records into an Image, enforcing the address space and the size limit.
type builder struct {
	format  Format
	limit   int64
	total   int64
	chunks  []chunk
	scratch []byte // decodeHex's buffer, reused for every record
}

func newBuilder(f Format, limit int64) *builder {
	if limit <= 0 {
		limit = DefaultMaxSize
	}
	return &builder{format: f, limit: limit}
}

func (b *builder) errorf(line int, format string, args ...any) error {
	return &Error{Format: b.format, Line: line, Reason: fmt.Sprintf(format, args...)}
}

// add copies data at addr into the image being built.
func (b *builder) add(addr uint64, data []byte, line int) error {
	if len(data) == 0 {
		return nil
	}
	if end := addr + uint64(len(data)); end > addressSpace {
		return b.errorf(line, "%d bytes at 0x%X end at 0x%X, beyond the 32-bit (4 GiB) address space", len(data), addr, end)
	}
	b.total += int64(len(data))
	if b.total > b.limit {
		return b.errorf(line, "image holds more than %d bytes, the limit; raise it if the image is genuine", b.limit)
	}
	// Records usually follow each other: extend the last run rather than keep one chunk per
	// record, so the overhead does not grow with the record count.
	if n := len(b.chunks); n > 0 {
		if last := &b.chunks[n-1]; last.addr+uint64(len(last.data)) == addr {
			last.data = append(last.data, data...)
			last.lastLine = line
			return nil
		}
	}
	b.chunks = append(b.chunks, chunk{addr: addr, data: bytes.Clone(data), line: line, lastLine: line})
	return nil
}

// image sorts the chunks, refuses overlaps and merges adjacent runs.
func (b *builder) image(start *uint32) (*Image, error) {
	if len(b.chunks) == 0 {
		return nil, b.errorf(0, "no data: the image has nothing to flash")
	}
	sort.SliceStable(b.chunks, func(i, j int) bool { return b.chunks[i].addr < b.chunks[j].addr })
	im := &Image{Start: start}
	var last chunk // the chunk that ends the current segment
	for i, c := range b.chunks {
		if i > 0 {
			end := last.addr + uint64(len(last.data))
			if c.addr < end {
				return nil, b.errorf(max(c.line, last.line), "data at 0x%X (%s) overlaps 0x%X..0x%X (%s)",
					c.addr, c.lines(), last.addr, end-1, last.lines())
			}
			if c.addr == end {
				s := &im.Segments[len(im.Segments)-1]
				s.Data = append(s.Data, c.data...)
				last = c
				continue
			}
		}
		im.Segments = append(im.Segments, Segment{Address: uint32(c.addr), Data: c.data})
		last = c
	}
	return im, nil
}
