package flashimage

import (
	"fmt"
	"strings"
	"testing"
)

// ihexImage renders size bytes at 0x08000000 as Intel HEX with 32-byte records, the way
// compilers write them, so the benchmark parses a realistic file.
func ihexImage(size int) []byte {
	var sb strings.Builder
	record := func(typ byte, offset uint16, data []byte) {
		sum := byte(len(data)) + byte(offset>>8) + byte(offset) + typ
		fmt.Fprintf(&sb, ":%02X%04X%02X", len(data), offset, typ)
		for _, c := range data {
			fmt.Fprintf(&sb, "%02X", c)
			sum += c
		}
		fmt.Fprintf(&sb, "%02X\n", -sum)
	}
	data := make([]byte, 32)
	for addr := 0; addr < size; addr += 32 {
		if addr%0x10000 == 0 {
			hi := uint16((0x08000000 + addr) >> 16)
			record(0x04, 0, []byte{byte(hi >> 8), byte(hi)})
		}
		for i := range data {
			data[i] = byte(addr + i)
		}
		record(0x00, uint16(addr), data)
	}
	record(0x01, 0, nil)
	return []byte(sb.String())
}

func BenchmarkParseIHex(b *testing.B) {
	in := ihexImage(8 << 20)
	b.SetBytes(8 << 20)
	b.ReportAllocs()
	for b.Loop() {
		im, err := ParseIHex(in, 0)
		if err != nil || len(im.Segments) != 1 || im.Size() != 8<<20 {
			b.Fatalf("%v", err)
		}
	}
}
