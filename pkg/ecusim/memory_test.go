package ecusim

import (
	"bytes"
	"maps"
	"slices"
	"testing"
)

// outside returns the first written byte (not 0xFF) outside every region of m; ok is false
// when writes stayed within the configured memory.
func outside(m *memory) (addr uint64, ok bool) {
	for _, p := range slices.Sorted(maps.Keys(m.pages)) {
		for i, b := range m.pages[p] {
			if a := p*pageSize + uint64(i); b != erased && !m.contains(a, 1) {
				return a, true
			}
		}
	}
	return 0, false
}

func TestMemoryIsSparseAndErasedByDefault(t *testing.T) {
	m := newMemory([]region{{0, 16 << 20}})
	if got := m.read(0x123456, 3); !bytes.Equal(got, []byte{0xFF, 0xFF, 0xFF}) {
		t.Errorf("unwritten bytes read % X, want FF FF FF", got)
	}
	m.write(pageSize-2, []byte{1, 2, 3, 4}) // straddles two pages
	if len(m.pages) != 2 {
		t.Errorf("%d pages allocated for 4 bytes over a page boundary, want 2", len(m.pages))
	}
	if got := m.read(pageSize-3, 6); !bytes.Equal(got, []byte{0xFF, 1, 2, 3, 4, 0xFF}) {
		t.Errorf("read back % X", got)
	}
}

func TestMemoryErase(t *testing.T) {
	m := newMemory([]region{{0, 4 * pageSize}})
	m.write(0, bytes.Repeat([]byte{0xAA}, 4*pageSize))
	m.erase(pageSize/2, 2*pageSize) // half of page 0, all of page 1, half of page 2
	if len(m.pages) != 3 {
		t.Errorf("%d pages after erasing one whole page of four, want 3", len(m.pages))
	}
	got := m.read(0, 4*pageSize)
	for i, b := range got {
		want := byte(0xAA)
		if i >= pageSize/2 && i < pageSize/2+2*pageSize {
			want = 0xFF
		}
		if b != want {
			t.Fatalf("byte 0x%X is %02X after erase, want %02X", i, b, want)
		}
	}
}

func TestMemoryContains(t *testing.T) {
	m := newMemory([]region{{0x1000, 0x2000}, {0x2000, 0x3000}, {0xFFFFF000, 1 << 32}})
	for _, tt := range []struct {
		addr, size uint64
		want       bool
	}{
		{0x1000, 0x1000, true},
		{0x0FFF, 2, false},
		{0x1FFF, 2, false}, // adjacent regions are still two regions
		{0x2000, 0x1000, true},
		{0x1000, 0, false},
		{0xFFFFF000, 0x1000, true},
		{0xFFFFFFFF, 2, false},
		{^uint64(0), 2, false}, // wraps around
	} {
		if got := m.contains(tt.addr, tt.size); got != tt.want {
			t.Errorf("contains(0x%X, 0x%X) = %v, want %v", tt.addr, tt.size, got, tt.want)
		}
	}
}
