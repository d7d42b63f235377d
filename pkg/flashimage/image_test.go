package flashimage

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	for in, want := range map[string]Format{
		wikipediaHex:               FormatIHex,
		"\xEF\xBB\xBF\r\n" + s37:   FormatSRec,
		wikipediaSRec:              FormatSRec,
		"\x7FELF\x01\x01":          FormatBin,
		":not hex at all\n":        FormatBin,
		"S9 is a word\n":           FormatBin,
		"":                         FormatBin,
		"\x00\x01\x02\x03\x04\x05": FormatBin,
	} {
		if got := Detect([]byte(in)); got != want {
			t.Errorf("Detect(%q) = %s, want %s", in[:min(len(in), 20)], got, want)
		}
	}
	for name, want := range map[string]Format{"app.hex": FormatIHex, "APP.S19": FormatSRec, "a/b/app.s37": FormatSRec, "app.bin": FormatBin, "app": FormatAuto} {
		if got := FormatFromName(name); got != want {
			t.Errorf("FormatFromName(%q) = %s, want %s", name, got, want)
		}
	}
}

func TestParseDispatch(t *testing.T) {
	for _, tt := range []struct {
		in   string
		opt  Options
		addr uint32
	}{
		{wikipediaHex, Options{}, 0x0100},
		{wikipediaHex, Options{Format: FormatIHex}, 0x0100},
		{s37, Options{Format: FormatAuto}, 0x08000000},
		{"\x01\x02\x03", Options{Format: FormatBin, Address: 0x00010000}, 0x00010000},
		{"\x01\x02\x03", Options{Address: 0x00010000}, 0x00010000}, // auto: binary
	} {
		im, err := Parse([]byte(tt.in), tt.opt)
		if err != nil || im.Segments[0].Address != tt.addr {
			t.Errorf("%+v: %+v, %v", tt.opt, im, err)
		}
	}
	for name, tt := range map[string]struct {
		in  string
		opt Options
	}{
		"address with ihex": {wikipediaHex, Options{Address: 0x1000}},
		"unknown format":    {wikipediaHex, Options{Format: "elf"}},
		"srec as ihex":      {s37, Options{Format: FormatIHex}},
		"empty binary":      {"", Options{Format: FormatBin}},
	} {
		var e *Error
		if _, err := Parse([]byte(tt.in), tt.opt); !errors.As(err, &e) {
			t.Errorf("%s: got %v, want *Error", name, err)
		}
	}
}

func TestParseBinary(t *testing.T) {
	data := []byte{1, 2, 3, 4}
	im, err := ParseBinary(data, 0xFFFFFFFC, 0)
	if err != nil || len(im.Segments) != 1 || im.Segments[0].End() != 1<<32 {
		t.Fatalf("last 4 bytes of the address space: %+v, %v", im, err)
	}
	data[0] = 9
	if im.Segments[0].Data[0] != 1 {
		t.Error("the image aliases its input")
	}
	if _, err := ParseBinary(data, 0xFFFFFFFD, 0); err == nil || !strings.Contains(err.Error(), "beyond the 32-bit") {
		t.Errorf("past 4 GiB: got %v", err)
	}
	if _, err := ParseBinary(make([]byte, 100), 0, 99); err == nil || !strings.Contains(err.Error(), "more than 99 bytes") {
		t.Errorf("limit: got %v", err)
	}
}

func TestCRC32(t *testing.T) {
	// CRC-32/IEEE of "123456789" is 0xCBF43926 (the standard check value); split over two
	// segments given out of order it must be the same.
	b := newBuilder(FormatBin, 0)
	b.add(0x100, []byte("56789"), 2)
	b.add(0x000, []byte("1234"), 1)
	im, err := b.image(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := im.CRC32(); got != 0xCBF43926 {
		t.Errorf("CRC32 = 0x%08X, want 0xCBF43926", got)
	}
	if len(im.Segments) != 2 || !bytes.Equal(im.Segments[0].Data, []byte("1234")) {
		t.Errorf("segments %+v", im.Segments)
	}
}
