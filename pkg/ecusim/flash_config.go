package ecusim

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// MemoryRegion is one address range of an ECU's flash that 34, 31 erase and 23 may address.
type MemoryRegion struct {
	// Address is the first address of the region.
	Address uint32 `json:"address"`
	// Size is the region's length in bytes (1..4 GiB, ending at or below 0xFFFFFFFF).
	Size uint64 `json:"size"`
}

// Flash configures the download services (34/36/37) and the routines a flash sequence uses;
// zero values take the defaults of the design's flash contract.
type Flash struct {
	// MaxNumberOfBlockLength is the 74 answer's block length: the whole 36 request, SID and
	// counter included (default 0x0FFA, 4088 data bytes; 3..0xFFFF).
	MaxNumberOfBlockLength int `json:"maxNumberOfBlockLength,omitempty"`
	// BlockDelay is how long each 36 answer is held back, to simulate slow flash (default 0).
	BlockDelay string `json:"blockDelay,omitempty"`
	// EraseRoutine is the routine id of 31 01 <id> <address 4> <size 4> (default 0xFF00).
	EraseRoutine uint16 `json:"eraseRoutine,omitempty"`
	// CheckRoutine is the routine id of 31 01 <id> <CRC-32 4> (default 0x0202).
	CheckRoutine uint16 `json:"checkRoutine,omitempty"`
}

// Flash defaults, exported so the documentation and the agent's tests agree with the simulator.
const (
	// DefaultMemorySize is the size of the one region an ECU without a memory config has.
	DefaultMemorySize = 16 << 20
	// DefaultMaxNumberOfBlockLength is the 74 answer's default: 4088 data bytes per block.
	DefaultMaxNumberOfBlockLength = 0x0FFA
	// DefaultEraseRoutine is the erase memory routine id commonly used by flash sequences.
	DefaultEraseRoutine = 0xFF00
	// DefaultCheckRoutine is the check memory (CRC) routine id commonly used by flash sequences.
	DefaultCheckRoutine = 0x0202
	// minBlockLength is a 36 request with one data byte: SID, counter and the byte.
	minBlockLength = 3
)

// flashConfig is a validated Flash with the ECU's memory regions.
type flashConfig struct {
	regions      []region
	maxBlock     int
	blockDelay   time.Duration
	eraseRoutine uint16
	checkRoutine uint16
}

// compileFlash validates the memory and flash keys of one ECU; path prefixes field names.
func compileFlash(path string, regions []MemoryRegion, f Flash) (flashConfig, error) {
	c := flashConfig{maxBlock: f.MaxNumberOfBlockLength, eraseRoutine: f.EraseRoutine, checkRoutine: f.CheckRoutine}
	if regions == nil {
		regions = []MemoryRegion{{Address: 0, Size: DefaultMemorySize}}
	}
	if len(regions) == 0 {
		return c, fieldErr(path+"memory", "needs at least one region; leave it out for the default 16 MiB at 0x00000000")
	}
	for i, r := range regions {
		field := fmt.Sprintf("%smemory[%d]", path, i)
		end := uint64(r.Address) + r.Size
		switch {
		case r.Size == 0:
			return c, fieldErr(field+".size", "must not be zero")
		case end > 1<<32:
			return c, fieldErr(field+".size", "0x%X bytes at 0x%08X end past 0xFFFFFFFF; addresses are 32 bits", r.Size, r.Address)
		}
		c.regions = append(c.regions, region{start: uint64(r.Address), end: end})
	}
	sorted := slices.Clone(c.regions)
	slices.SortFunc(sorted, func(a, b region) int { return cmp.Compare(a.start, b.start) })
	for i := 1; i < len(sorted); i++ {
		if a, b := sorted[i-1], sorted[i]; b.start < a.end {
			return c, fieldErr(path+"memory", "regions 0x%08X-0x%08X and 0x%08X-0x%08X overlap", a.start, a.end-1, b.start, b.end-1)
		}
	}
	c.regions = sorted

	field := path + "flash."
	if c.maxBlock == 0 {
		c.maxBlock = DefaultMaxNumberOfBlockLength
	}
	if c.maxBlock < minBlockLength || c.maxBlock > 0xFFFF {
		return c, fieldErr(field+"maxNumberOfBlockLength", "want %d..0xFFFF (the whole 36 request: SID, counter and at least one byte), got %d", minBlockLength, c.maxBlock)
	}
	var err error
	if c.blockDelay, err = duration(field+"blockDelay", f.BlockDelay, 0); err != nil {
		return c, err
	}
	if c.eraseRoutine == 0 {
		c.eraseRoutine = DefaultEraseRoutine
	}
	if c.checkRoutine == 0 {
		c.checkRoutine = DefaultCheckRoutine
	}
	if c.eraseRoutine == c.checkRoutine {
		return c, fieldErr(field+"checkRoutine", "0x%04X is also the erase routine; give them different ids", c.checkRoutine)
	}
	return c, nil
}
