package flashimage

import (
	"testing"
)

// ihexImage renders size bytes at 0x08000000 as Intel HEX with 32-byte records, the way
// compilers write them, so the benchmark parses a realistic file.
func ihexImage(size int) []byte {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i)
	}
	file, err := (&Image{Segments: []Segment{{Address: 0x08000000, Data: data}}}).MarshalIHex(32)
	if err != nil {
		panic(err)
	}
	return file
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
