package ecusim

import (
	"strings"
	"testing"
	"time"
)

func TestFlashConfigDefaults(t *testing.T) {
	c, err := compileFlash("", nil, Flash{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.regions) != 1 || c.regions[0] != (region{0, 16 << 20}) {
		t.Errorf("regions %v, want one of 16 MiB at 0", c.regions)
	}
	if c.maxBlock != 0x0FFA || c.blockDelay != 0 || c.eraseRoutine != 0xFF00 || c.checkRoutine != 0x0202 {
		t.Errorf("defaults %+v", c)
	}
}

func TestFlashConfigParses(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
memory:
  - {address: 0x00800000, size: 0x1000}
  - {address: 0x00010000, size: 0x00100000}
flash: {maxNumberOfBlockLength: 0x0102, blockDelay: 5ms, eraseRoutine: 0xFF01, checkRoutine: 0x0203}
ecus:
  - logicalAddress: 0x0011
    memory: [{address: 0xFFFFF000, size: 0x1000}]
`), "flash.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := s.own.flash.cfg
	if want := []region{{0x00010000, 0x00110000}, {0x00800000, 0x00801000}}; len(f.regions) != 2 || f.regions[0] != want[0] || f.regions[1] != want[1] {
		t.Errorf("regions %v, want %v (sorted)", f.regions, want)
	}
	if f.maxBlock != 0x0102 || f.blockDelay != 5*time.Millisecond || f.eraseRoutine != 0xFF01 || f.checkRoutine != 0x0203 {
		t.Errorf("flash %+v", f)
	}
	if r, ok := match(s.own.delays, []byte{0x36, 0x01, 0x00}); !ok || r.interval != 5*time.Millisecond {
		t.Errorf("block delay rule %v %v", r, ok)
	}
	if g := s.ecus[0x0011].flash.cfg.regions; len(g) != 1 || g[0] != (region{0xFFFFF000, 1 << 32}) {
		t.Errorf("ECU 0x0011 regions %v, want the last 4 KiB of the address space", g)
	}
}

func TestBadFlashConfigsNameTheField(t *testing.T) {
	tests := []struct {
		name, yaml, field, says string
	}{
		{"no regions", "memory: []\n", "memory", "at least one region"},
		{"zero size", "memory: [{address: 0x100, size: 0}]\n", "memory[0].size", "zero"},
		{"past 4 GiB", "memory: [{address: 0xFFFFFF00, size: 0x101}]\n", "memory[0].size", "0xFFFFFFFF"},
		{"overlap", "memory: [{address: 0x1000, size: 0x1000}, {address: 0x1FFF, size: 0x10}]\n", "memory", "overlap"},
		{"address too large", "memory: [{address: 0x100000000, size: 1}]\n", "address", ""},
		{"block length < 3", "flash: {maxNumberOfBlockLength: 2}\n", "flash.maxNumberOfBlockLength", "3..0xFFFF"},
		{"block length > 2 bytes", "flash: {maxNumberOfBlockLength: 0x10000}\n", "flash.maxNumberOfBlockLength", "3..0xFFFF"},
		{"block delay", "flash: {blockDelay: slow}\n", "flash.blockDelay", "duration"},
		{"same routine", "flash: {eraseRoutine: 0x0202}\n", "flash.checkRoutine", "erase routine"},
		{"unknown key", "flash: {blockLength: 10}\n", "blockLength", ""},
		{"extra ECU", "ecus: [{logicalAddress: 0x0011, memory: [{address: 0, size: 0}]}]\n", "ecus[0].memory[0].size", "zero"},
	}
	for _, tt := range tests {
		cfg, err := ParseConfig([]byte(tt.yaml), "sim.yaml")
		if err == nil {
			_, err = New(cfg)
		}
		if err == nil {
			t.Errorf("%s: accepted", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: error %q does not name %q and say %q", tt.name, err, tt.field, tt.says)
		}
	}
}

// The example config of docs/ecusim.md carries the memory and flash keys.
func TestExampleConfigHasFlash(t *testing.T) {
	cfg, err := LoadConfig("testdata/gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := s.own.flash.cfg
	if len(f.regions) != 2 || f.regions[0] != (region{0x00010000, 0x00110000}) || f.regions[1] != (region{0x00800000, 0x00810000}) {
		t.Errorf("regions %v", f.regions)
	}
	if f.maxBlock != 0x0FFA || f.eraseRoutine != 0xFF00 || f.checkRoutine != 0x0202 {
		t.Errorf("flash %+v", f)
	}
	if r := s.ecus[0x0011].flash.cfg.regions; len(r) != 1 || r[0] != (region{0, DefaultMemorySize}) {
		t.Errorf("ECU 0x0011 without a memory key has regions %v, want the default", r)
	}
}
