package flashimage

import (
	"bytes"
	"testing"
)

func TestMarshalIHexGolden(t *testing.T) {
	// The data record is Wikipedia's Intel HEX example (":0B0010006164647265737320676170A7").
	im := &Image{Segments: []Segment{{Address: 0x0010, Data: []byte("address gap")}}}
	got, err := im.MarshalIHex(16)
	if err != nil {
		t.Fatal(err)
	}
	want := ":020000040000FA\n:0B0010006164647265737320676170A7\n:00000001FF\n"
	if string(got) != want {
		t.Errorf("MarshalIHex =\n%s\nwant\n%s", got, want)
	}
}

func TestMarshalIHexRoundTrip(t *testing.T) {
	start := uint32(0x08000101)
	pattern := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + 3)
		}
		return b
	}
	cases := map[string]*Image{
		"one short segment":            {Segments: []Segment{{Address: 0x10000, Data: pattern(100)}}},
		"across a 64 KiB boundary":     {Segments: []Segment{{Address: 0xFFF0, Data: pattern(0x40)}}},
		"two segments and a start":     {Segments: []Segment{{Address: 0x08000000, Data: pattern(300)}, {Address: 0x08020000, Data: pattern(17)}}, Start: &start},
		"a segment ending at 4 GiB":    {Segments: []Segment{{Address: 0xFFFFFF00, Data: pattern(0x100)}}},
		"records of one byte at a gap": {Segments: []Segment{{Address: 0, Data: pattern(3)}, {Address: 5, Data: pattern(2)}}},
	}
	for name, im := range cases {
		for _, recordLen := range []int{1, 16, 32, 255} {
			file, err := im.MarshalIHex(recordLen)
			if err != nil {
				t.Fatalf("%s, %d-byte records: %v", name, recordLen, err)
			}
			back, err := ParseIHex(file, 0)
			if err != nil {
				t.Fatalf("%s, %d-byte records: the written file does not parse: %v\n%s", name, recordLen, err, file)
			}
			if len(back.Segments) != len(im.Segments) {
				t.Fatalf("%s, %d-byte records: %d segments back, want %d", name, recordLen, len(back.Segments), len(im.Segments))
			}
			for i, s := range im.Segments {
				if back.Segments[i].Address != s.Address || !bytes.Equal(back.Segments[i].Data, s.Data) {
					t.Errorf("%s, %d-byte records: segment %d came back at %#x with %d bytes, want %#x with %d",
						name, recordLen, i, back.Segments[i].Address, len(back.Segments[i].Data), s.Address, len(s.Data))
				}
			}
			if (im.Start == nil) != (back.Start == nil) || im.Start != nil && *im.Start != *back.Start {
				t.Errorf("%s, %d-byte records: start %v back, want %v", name, recordLen, back.Start, im.Start)
			}
		}
	}
	for _, bad := range []int{0, 256} {
		if _, err := (&Image{}).MarshalIHex(bad); err == nil {
			t.Errorf("MarshalIHex(%d) wrote a file, want an error", bad)
		}
	}
}
