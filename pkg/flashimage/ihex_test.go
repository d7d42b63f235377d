package flashimage

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// wikipediaHex is the example file of https://en.wikipedia.org/wiki/Intel_HEX ("File
// example"): four contiguous 16-byte records at 0x0100 and the end-of-file record.
const wikipediaHex = `:10010000214601360121470136007EFE09D2190140
:100110002146017E17C20001FF5F16002148011928
:10012000194E79234623965778239EDA3F01B2CAA7
:100130003F0156702B5E712B722B732146013421C7
:00000001FF
`

// stm32Hex looks like an STM32 application: extended linear address 0x0800, data crossing
// the 64 KiB boundary into 0x0801 (one merged run), a second run, the entry point (05).
const stm32Hex = ":020000040800F2\r\n" +
	":10FFF000AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA61\r\n" +
	":020000040801F1\r\n" +
	":08000000BBBBBBBBBBBBBBBB20\r\n" +
	":020000040800F2\r\n" +
	":10001000101112131415161718191A1B1C1D1E1F68\r\n" +
	":10000000000102030405060708090A0B0C0D0E0F78\r\n" +
	":04000005080001C12D\r\n" +
	":00000001FF\r\n"

func TestParseIHex(t *testing.T) {
	im, err := ParseIHex([]byte(wikipediaHex), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Segments) != 1 || im.Segments[0].Address != 0x0100 || len(im.Segments[0].Data) != 64 || im.Start != nil {
		t.Fatalf("wikipedia example: %+v", im)
	}
	if !bytes.HasPrefix(im.Segments[0].Data, []byte{0x21, 0x46, 0x01, 0x36}) || im.Segments[0].Data[63] != 0x21 {
		t.Errorf("wikipedia example data % X", im.Segments[0].Data)
	}

	im, err = ParseIHex([]byte(stm32Hex), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Segments) != 2 {
		t.Fatalf("stm32: %d segments, want 2", len(im.Segments))
	}
	if s := im.Segments[0]; s.Address != 0x08000000 || len(s.Data) != 32 || s.Data[31] != 0x1F {
		t.Errorf("stm32 segment 0: 0x%X, % X", s.Address, s.Data)
	}
	if s := im.Segments[1]; s.Address != 0x0800FFF0 || len(s.Data) != 24 || s.Data[15] != 0xAA || s.Data[16] != 0xBB {
		t.Errorf("stm32 segment 1 (merged across the 04 record): 0x%X, % X", s.Address, s.Data)
	}
	if im.Start == nil || *im.Start != 0x080001C1 || im.Size() != 56 {
		t.Errorf("stm32 start %v size %d", im.Start, im.Size())
	}

	// Extended segment address (02) and start segment address (03: CS 0x1200, IP 0x0010).
	im, err = ParseIHex([]byte(":020000021200EA\n:0400040001020304EE\n:0400000312000010D7\n:00000001FF\n\x1a\n"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Segments) != 1 || im.Segments[0].Address != 0x12004 || im.Start == nil || *im.Start != 0x12010 {
		t.Errorf("segment addressing: %+v start %v", im.Segments, im.Start)
	}
}

func TestParseIHexErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		reason   string
	}{
		{"bad checksum", ":10010000214601360121470136007EFE09D2190141\n:00000001FF\n", 1, "bad checksum 0x41, want 0x40"},
		{"overlap", ":10000000000102030405060708090A0B0C0D0E0F78\n:10000800CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC28\n:00000001FF\n", 2, "data at 0x8 (line 2) overlaps 0x0..0xF (line 1)"},
		{"no EOF", ":10000000000102030405060708090A0B0C0D0E0F78\n", 0, "truncated"},
		{"after EOF", ":00000001FF\n:10000000000102030405060708090A0B0C0D0E0F78\n", 2, "after the end-of-file record on line 1"},
		{"unknown type", ":00000006FA\n:00000001FF\n", 1, "unknown record type 06"},
		{"count mismatch", ":10000000000102\n", 1, "count byte says 21"},
		{"odd digits", ":0000000\n", 1, "odd number"},
		{"not hex", ":0G000001FF\n", 1, "not a hex digit"},
		{"no colon", "10000000\n", 1, "does not start with ':'"},
		{"ELA length", ":0100000408F3\n:00000001FF\n", 1, "type 04 carries 1 bytes, want 2"},
		{"beyond 4 GiB", ":02000004FFFFFC\n:10FFF80000000000000000000000000000000000F9\n:00000001FF\n", 2, "beyond the 32-bit"},
		{"two starts", ":04000005080001C12D\n:04000005080001C12D\n:00000001FF\n", 2, "second start address"},
		{"empty", ":00000001FF\n", 0, "no data"},
	}
	for _, tt := range tests {
		_, err := ParseIHex([]byte(tt.in), 0)
		var e *Error
		if !errors.As(err, &e) || e.Line != tt.line || !strings.Contains(e.Reason, tt.reason) {
			t.Errorf("%s: got %v, want line %d %q", tt.name, err, tt.line, tt.reason)
		}
	}
	// The size limit counts data bytes, not the address span.
	if _, err := ParseIHex([]byte(wikipediaHex), 63); err == nil || !strings.Contains(err.Error(), "more than 63 bytes") {
		t.Errorf("limit 63: got %v", err)
	}
	if _, err := ParseIHex([]byte(wikipediaHex), 64); err != nil {
		t.Errorf("limit 64: %v", err)
	}
}

func TestParseIHexOverlapNamesRuns(t *testing.T) {
	// Two contiguous records form one run (lines 1-2); a later record inside it is refused
	// naming both.
	in := ":10000000000102030405060708090A0B0C0D0E0F78\n:10001000101112131415161718191A1B1C1D1E1F68\n" +
		":0400040001020304EE\n:00000001FF\n"
	_, err := ParseIHex([]byte(in), 0)
	var e *Error
	if !errors.As(err, &e) || e.Line != 3 || !strings.Contains(e.Reason, "data at 0x4 (line 3) overlaps 0x0..0x1F (lines 1-2)") {
		t.Errorf("got %v", err)
	}
}
