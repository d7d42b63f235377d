package flashimage

import (
	"errors"
	"strings"
	"testing"
)

// wikipediaSRec is the example of https://en.wikipedia.org/wiki/SREC_(file_format)
// ("Example"): a header, three S1 data records, an S5 count and an S9 start address.
const wikipediaSRec = `S00F000068656C6C6F202020202000003C
S11F00007C0802A6900100049421FFF07C6C1B787C8C23783C6000003863000026
S11F001C4BFFFFE5398000007D83637880010014382100107C0803A64E800020E9
S111003848656C6C6F20776F726C642E0A0042
S5030003F9
S9030000FC
`

// s37 looks like a 32-bit application: header, two contiguous S3 records, a distant one, a
// count, an S7 entry point.
const s37 = "S00B0000656375666C656574A7\r\n" +
	"S31508000010101112131415161718191A1B1C1D1E1F5A\r\n" +
	"S31508000000000102030405060708090A0B0C0D0E0F6A\r\n" +
	"S30908020000DEADBEEFB4\r\n" +
	"S5030003F9\r\n" +
	"S705080001C130\r\n"

func TestParseSRec(t *testing.T) {
	im, err := ParseSRec([]byte(wikipediaSRec), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Segments) != 1 || im.Segments[0].Address != 0 || len(im.Segments[0].Data) != 0x38+14 || im.Start == nil || *im.Start != 0 {
		t.Fatalf("wikipedia example: %+v", im)
	}
	if got := string(im.Segments[0].Data[0x38:]); got != "Hello world.\n\x00" {
		t.Errorf("wikipedia example ends %q", got)
	}

	im, err = ParseSRec([]byte(s37), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Segments) != 2 || im.Segments[0].Address != 0x08000000 || len(im.Segments[0].Data) != 32 ||
		im.Segments[1].Address != 0x08020000 || len(im.Segments[1].Data) != 4 || *im.Start != 0x080001C1 {
		t.Errorf("s37: %+v start %v", im.Segments, im.Start)
	}

	// S2 with an S8, and a file without any termination record.
	for _, in := range []string{"S207010000010203F1\nS804010000FA\n", "S207010000010203F1\n"} {
		im, err = ParseSRec([]byte(in), 0)
		if err != nil || len(im.Segments) != 1 || im.Segments[0].Address != 0x010000 || len(im.Segments[0].Data) != 3 {
			t.Errorf("%q: %+v, %v", in, im, err)
		}
	}
}

func TestParseSRecErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		reason   string
	}{
		{"bad checksum", "S00F000068656C6C6F202020202000003C\nS111003848656C6C6F20776F726C642E0A0043\n", 2, "bad checksum 0x43, want 0x42"},
		{"count mismatch", "S207010000010203F1\nS5030002FA\n", 2, "counts 2 data records, the file has 1"},
		{"reserved S4", "S4030000FC\n", 1, "S4 is a reserved"},
		{"after S9", "S9030000FC\nS207010000010203F1\n", 2, "after the termination record on line 1"},
		{"beyond 4 GiB", "S30DFFFFFFFC0000000000000000F9\n", 1, "beyond the 32-bit"},
		{"overlap", "S11F00007C0802A6900100049421FFF07C6C1B787C8C23783C6000003863000026\nS10500040909E4\n", 2, "overlaps"},
		{"length", "S1050004090\n", 1, "odd number"},
		{"short count", "S10600040909E4\n", 1, "count byte says 7"},
		{"not S", "X10500040909E4\n", 1, "does not start with S0..S9"},
		{"header only", "S00F000068656C6C6F202020202000003C\n", 0, "no data"},
	}
	for _, tt := range tests {
		_, err := ParseSRec([]byte(tt.in), 0)
		var e *Error
		if !errors.As(err, &e) || e.Line != tt.line || !strings.Contains(e.Reason, tt.reason) {
			t.Errorf("%s: got %v, want line %d %q", tt.name, err, tt.line, tt.reason)
		}
	}
}
