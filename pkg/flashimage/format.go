package flashimage

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"
)

// Format is an image file format, spelled as the download step's format field spells it.
type Format string

// Formats.
const (
	// FormatAuto picks the format from the content with Detect.
	FormatAuto Format = "auto"
	// FormatIHex is Intel HEX.
	FormatIHex Format = "ihex"
	// FormatSRec is Motorola S-record.
	FormatSRec Format = "srec"
	// FormatBin is raw binary, placed at Options.Address.
	FormatBin Format = "bin"
)

// Options say how to read an image.
type Options struct {
	// Format is the file's format; "" and FormatAuto detect it.
	Format Format
	// Address is where the first byte of a binary image goes; text formats carry their own
	// addresses, so it must be zero for them.
	Address uint32
	// MaxSize bounds the image's data bytes (0: DefaultMaxSize).
	MaxSize int64
}

// Parse reads data in opt.Format into an Image. The Image does not alias data.
func Parse(data []byte, opt Options) (*Image, error) {
	f := opt.Format
	if f == "" || f == FormatAuto {
		f = Detect(data)
	}
	if f != FormatBin && opt.Address != 0 {
		return nil, &Error{Format: f, Reason: fmt.Sprintf("address 0x%X is for binary images only: %s files carry their own addresses", opt.Address, f)}
	}
	switch f {
	case FormatIHex:
		return ParseIHex(data, opt.MaxSize)
	case FormatSRec:
		return ParseSRec(data, opt.MaxSize)
	case FormatBin:
		return ParseBinary(data, opt.Address, opt.MaxSize)
	}
	return nil, &Error{Format: f, Reason: "unknown format: want auto, ihex, srec or bin"}
}

// Detect tells the format from the content: a first line of ':' and hex digits is Intel
// HEX, 'S', a digit and hex digits is an S-record, anything else is binary.
func Detect(data []byte) Format {
	data = bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")), " \t\r\n")
	line := data
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		line = data[:i]
	}
	line = bytes.TrimRight(line, " \t\r")
	switch {
	case len(line) >= 11 && line[0] == ':' && isHex(line[1:]):
		return FormatIHex
	case len(line) >= 10 && line[0] == 'S' && line[1] >= '0' && line[1] <= '9' && isHex(line[2:]):
		return FormatSRec
	}
	return FormatBin
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// FormatFromName guesses the format from a file name's extension (as an OCI layer's
// org.opencontainers.image.title gives it), or FormatAuto when the name does not say.
func FormatFromName(name string) Format {
	switch strings.ToLower(path.Ext(name)) {
	case ".hex", ".ihex", ".ihx", ".h86":
		return FormatIHex
	case ".srec", ".s19", ".s28", ".s37", ".mot", ".mhx", ".s":
		return FormatSRec
	case ".bin", ".img":
		return FormatBin
	}
	return FormatAuto
}

// lines calls fn for each line of data with its 1-based number, the line's trailing
// whitespace removed, so every text format counts lines the same way.
func lines(data []byte, fn func(n int, line []byte) error) error {
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if err := fn(n, bytes.TrimSpace(line)); err != nil {
			return err
		}
	}
	return nil
}

// decodeHex decodes a record's hex digits into the builder's scratch buffer, naming the
// first bad character; the result is valid until the next call.
func decodeHex(b *builder, n int, digits []byte) ([]byte, error) {
	if len(digits)%2 != 0 {
		return nil, b.errorf(n, "odd number of hex digits (%d)", len(digits))
	}
	out := append(b.scratch[:0], make([]byte, len(digits)/2)...)
	b.scratch = out
	if _, err := hex.Decode(out, digits); err != nil {
		var bad hex.InvalidByteError
		if errors.As(err, &bad) {
			i := bytes.IndexByte(digits, byte(bad)) &^ 1
			return nil, b.errorf(n, "%q is not a hex digit pair", digits[i:i+2])
		}
		return nil, b.errorf(n, "bad hex digits: %v", err)
	}
	return out, nil
}

// ParseBinary places raw bytes at base.
func ParseBinary(data []byte, base uint32, maxSize int64) (*Image, error) {
	b := newBuilder(FormatBin, maxSize)
	if err := b.add(uint64(base), data, 0); err != nil {
		return nil, err
	}
	return b.image(nil)
}
