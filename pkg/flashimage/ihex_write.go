package flashimage

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// MarshalIHex writes the image as Intel HEX with recordLen data bytes per record (1..255), as
// a compiler would: an extended linear address record (04) wherever the upper 16 address bits
// change, a start linear address record (05) when Start is set, and the end-of-file record. It
// is what a lab serves from a ConfigMap for the demo rack, and what tests flash.
func (im *Image) MarshalIHex(recordLen int) ([]byte, error) {
	if recordLen < 1 || recordLen > 0xFF {
		return nil, fmt.Errorf("an Intel HEX record holds 1 to 255 data bytes, not %d", recordLen)
	}
	var b strings.Builder
	record := func(typ byte, offset uint16, payload []byte) {
		sum := byte(len(payload)) + byte(offset>>8) + byte(offset) + typ
		fmt.Fprintf(&b, ":%02X%04X%02X", len(payload), offset, typ)
		for _, c := range payload {
			fmt.Fprintf(&b, "%02X", c)
			sum += c
		}
		fmt.Fprintf(&b, "%02X\n", -sum)
	}
	upper := -1
	for _, s := range im.Segments {
		for i := 0; i < len(s.Data); {
			addr := s.Address + uint32(i)
			if hi := int(addr >> 16); hi != upper {
				upper = hi
				record(0x04, 0, binary.BigEndian.AppendUint16(nil, uint16(hi)))
			}
			// A record never crosses a 64 KiB boundary: its offset is 16 bits.
			n := min(recordLen, len(s.Data)-i, 0x10000-int(addr&0xFFFF))
			record(0x00, uint16(addr), s.Data[i:i+n])
			i += n
		}
	}
	if im.Start != nil {
		record(0x05, 0, binary.BigEndian.AppendUint32(nil, *im.Start))
	}
	record(0x01, 0, nil)
	return []byte(b.String()), nil
}
