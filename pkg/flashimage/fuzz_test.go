package flashimage

import "testing"

// checkImage asserts what every parsed image promises: sorted, non-empty segments that
// neither overlap nor touch, inside 4 GiB, within the size limit.
func checkImage(t *testing.T, im *Image, limit int64) {
	t.Helper()
	var prevEnd uint64
	for i, s := range im.Segments {
		if len(s.Data) == 0 || s.End() > 1<<32 {
			t.Fatalf("segment %d at 0x%X: %d bytes", i, s.Address, len(s.Data))
		}
		if i > 0 && uint64(s.Address) <= prevEnd {
			t.Fatalf("segment %d at 0x%X starts at or before the end 0x%X of the one before", i, s.Address, prevEnd)
		}
		prevEnd = s.End()
	}
	if len(im.Segments) == 0 || im.Size() > limit {
		t.Fatalf("%d segments, %d bytes (limit %d)", len(im.Segments), im.Size(), limit)
	}
}

const fuzzLimit = 1 << 16

// FuzzIHex: any input is parsed or refused with an error, never a panic, and what parses
// keeps the Image invariants.
func FuzzIHex(f *testing.F) {
	for _, seed := range []string{wikipediaHex, stm32Hex, ":020000021200EA\n:0400040001020304EE\n:0400000312000010D7\n:00000001FF\n",
		":02000004FFFFFC\n:10FFF80000000000000000000000000000000000F9\n:00000001FF\n", ":00000001FF\n", ":0", "\x1a"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if im, err := ParseIHex(data, fuzzLimit); err == nil {
			checkImage(t, im, fuzzLimit)
		}
		Detect(data)
	})
}

// FuzzSRec is FuzzIHex for S-records.
func FuzzSRec(f *testing.F) {
	for _, seed := range []string{wikipediaSRec, s37, "S207010000010203F1\nS804010000FA\n", "S30DFFFFFFFC0000000000000000F9\n", "S4030000FC\n", "S"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if im, err := ParseSRec(data, fuzzLimit); err == nil {
			checkImage(t, im, fuzzLimit)
		}
	})
}
