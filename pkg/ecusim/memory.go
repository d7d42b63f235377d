package ecusim

import "bytes"

// pageSize is the unit in which the simulated flash is allocated: a page exists only once a
// byte in it has been written, so a 16 MiB region costs nothing until a tester flashes it.
const pageSize = 4096

// erased is the value of flash that has not been written since its last erase.
const erased = 0xFF

// region is one configured memory range [start, end); end may be 1<<32.
type region struct {
	start, end uint64
}

// memory is an ECU's flash: its address ranges and the pages written so far, keyed by the
// page's first address divided by pageSize. Unwritten bytes read as erased (0xFF).
type memory struct {
	regions []region // sorted by start, not overlapping
	pages   map[uint64]*[pageSize]byte
}

func newMemory(regions []region) *memory {
	return &memory{regions: regions, pages: map[uint64]*[pageSize]byte{}}
}

// contains reports whether [addr, addr+size) is non-empty and lies within one region.
func (m *memory) contains(addr, size uint64) bool {
	if size == 0 || addr+size < addr {
		return false
	}
	for _, r := range m.regions {
		if addr >= r.start && addr+size <= r.end {
			return true
		}
	}
	return false
}

// write stores data at addr; the caller has checked the range with contains.
func (m *memory) write(addr uint64, data []byte) {
	for len(data) > 0 {
		p, off := addr/pageSize, addr%pageSize
		page := m.pages[p]
		if page == nil {
			page = new([pageSize]byte)
			for i := range page {
				page[i] = erased
			}
			m.pages[p] = page
		}
		n := copy(page[off:], data)
		data, addr = data[n:], addr+uint64(n)
	}
}

// read returns size bytes from addr; the caller has checked the range with contains.
func (m *memory) read(addr, size uint64) []byte {
	out := bytes.Repeat([]byte{erased}, int(size))
	for done := uint64(0); done < size; {
		a := addr + done
		p, off := a/pageSize, a%pageSize
		n := min(pageSize-off, size-done)
		if page := m.pages[p]; page != nil {
			copy(out[done:done+n], page[off:off+n])
		}
		done += n
	}
	return out
}

// erase sets [addr, addr+size) to 0xFF, dropping the pages it covers entirely; the caller has
// checked the range with contains.
func (m *memory) erase(addr, size uint64) {
	end := addr + size
	for p, page := range m.pages {
		lo, hi := p*pageSize, p*pageSize+pageSize
		switch {
		case hi <= addr || lo >= end:
		case lo >= addr && hi <= end:
			delete(m.pages, p)
		default:
			from, to := max(lo, addr)-lo, min(hi, end)-lo
			for i := from; i < to; i++ {
				page[i] = erased
			}
		}
	}
}
