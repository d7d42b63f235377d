package flashimage

import "encoding/binary"

// Intel HEX record types.
const (
	ihexData                = 0x00
	ihexEOF                 = 0x01
	ihexExtendedSegment     = 0x02
	ihexStartSegmentAddress = 0x03
	ihexExtendedLinear      = 0x04
	ihexStartLinearAddress  = 0x05
	ihexMinRecordBytes      = 5 // count, address (2), type, checksum
)

// ctrlZ is the end-of-file character some DOS tools append after the last record.
const ctrlZ = "\x1a"

// ihexPayloadBytes is the fixed payload length of every record type but data.
var ihexPayloadBytes = map[byte]int{ihexEOF: 0, ihexExtendedSegment: 2, ihexExtendedLinear: 2,
	ihexStartSegmentAddress: 4, ihexStartLinearAddress: 4}

// ParseIHex reads Intel HEX: data (00), end of file (01, required), extended segment (02)
// and extended linear (04) addresses, and the start addresses (03 as CS*16+IP, 05).
// Lines after the end-of-file record must be blank.
func ParseIHex(data []byte, maxSize int64) (*Image, error) {
	b := newBuilder(FormatIHex, maxSize)
	var base uint64
	var start *uint32
	eof := 0
	err := lines(data, func(n int, line []byte) error {
		if len(line) == 0 || string(line) == ctrlZ {
			return nil
		}
		if eof != 0 {
			return b.errorf(n, "record after the end-of-file record on line %d", eof)
		}
		if line[0] != ':' {
			return b.errorf(n, "does not start with ':'")
		}
		rec, err := decodeHex(b, n, line[1:])
		if err != nil {
			return err
		}
		if len(rec) < ihexMinRecordBytes {
			return b.errorf(n, "record is %d bytes, want at least %d (count, address, type, checksum)", len(rec), ihexMinRecordBytes)
		}
		if len(rec) != int(rec[0])+ihexMinRecordBytes {
			return b.errorf(n, "record is %d bytes, its count byte says %d", len(rec), int(rec[0])+ihexMinRecordBytes)
		}
		var sum byte
		for _, c := range rec {
			sum += c
		}
		if sum != 0 {
			last := rec[len(rec)-1]
			return b.errorf(n, "bad checksum 0x%02X, want 0x%02X", last, last-sum)
		}
		offset := uint64(binary.BigEndian.Uint16(rec[1:3]))
		payload := rec[4 : len(rec)-1]
		if w, ok := ihexPayloadBytes[rec[3]]; ok && len(payload) != w {
			return b.errorf(n, "record type %02X carries %d bytes, want %d", rec[3], len(payload), w)
		}
		switch rec[3] {
		case ihexData:
			return b.add(base+offset, payload, n)
		case ihexEOF:
			eof = n
		case ihexExtendedSegment:
			base = uint64(binary.BigEndian.Uint16(payload)) << 4
		case ihexExtendedLinear:
			base = uint64(binary.BigEndian.Uint16(payload)) << 16
		case ihexStartSegmentAddress, ihexStartLinearAddress:
			if start != nil {
				return b.errorf(n, "second start address record")
			}
			v := binary.BigEndian.Uint32(payload)
			if rec[3] == ihexStartSegmentAddress {
				v = (v>>16)<<4 + v&0xFFFF
			}
			start = &v
		default:
			return b.errorf(n, "unknown record type %02X: want 00..05", rec[3])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if eof == 0 {
		return nil, &Error{Format: FormatIHex, Reason: "no end-of-file record (:00000001FF): the file is truncated"}
	}
	return b.image(start)
}
