package ecusim

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ecufleet/ecufleet/pkg/uds"
)

// unlock is the programming session and security access with the default seed and key.
var unlock = []step{
	{"10 02", "50 02 00 32 01 F4"},
	{"27 01", "67 01 11 22 33 44"},
	{"27 02 4B 78 69 1E", "67 02"},
}

// step is one request and the exact answer it must get.
type step struct{ req, want string }

func run(t *testing.T, c *uds.Client, steps ...[]step) {
	t.Helper()
	for _, s := range steps {
		for _, st := range s {
			expect(t, c, st.req, st.want)
		}
	}
}

// request sends raw bytes and returns the final answer, positive or negative.
func request(t *testing.T, c *uds.Client, req []byte) []byte {
	t.Helper()
	return ask(t, c, uds.FormatHex(req))
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// download sends image in blocks of maxBlock-2 data bytes, the counter starting at 1 and
// wrapping, checking every answer; it returns the number of blocks.
func download(t *testing.T, c *uds.Client, image []byte, maxBlock int) int {
	t.Helper()
	counter, blocks := byte(1), 0
	for rest := image; len(rest) > 0; counter++ {
		n := min(maxBlock-2, len(rest))
		req := append([]byte{0x36, counter}, rest[:n]...)
		if got := request(t, c, req); !bytes.Equal(got, []byte{0x76, counter}) {
			t.Fatalf("block %d (counter %02X): answer %s", blocks+1, counter, uds.FormatHex(got))
		}
		rest, blocks = rest[n:], blocks+1
	}
	return blocks
}

// readBack reads size bytes at addr with 23 44 in chunks of at most 64 KiB.
func readBack(t *testing.T, c *uds.Client, addr, size uint32) []byte {
	t.Helper()
	var out []byte
	for done := uint32(0); done < size; {
		n := min(size-done, maxReadLength)
		req := append(append([]byte{0x23, 0x44}, u32(addr+done)...), u32(n)...)
		resp := request(t, c, req)
		if len(resp) != int(n)+1 || resp[0] != 0x63 {
			t.Fatalf("23 at 0x%08X size 0x%X: answer of %d bytes starting % X", addr+done, n, len(resp), resp[:min(len(resp), 3)])
		}
		out, done = append(out, resp[1:]...), done+n
	}
	return out
}

func TestFlashImageRoundTrip(t *testing.T) {
	s := startSim(t, Config{})
	c := uds.NewClient(dial(t, s), DefaultLogicalAddress)
	const addr, size = 0x00010000, 1 << 20
	image := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range image {
		image[i] = byte(rng.Uint32())
	}
	run(t, c, unlock, []step{
		{"31 01 FF 00 00 01 00 00 00 10 00 00", "71 01 FF 00 00"},
		{"34 00 44 00 01 00 00 00 10 00 00", "74 20 0F FA"},
	})
	blocks := download(t, c, image, DefaultMaxNumberOfBlockLength)
	if blocks <= 256 {
		t.Fatalf("%d blocks: the counter did not wrap", blocks)
	}
	expect(t, c, "37", "77")
	sum := crc32.ChecksumIEEE(image)
	expect(t, c, "31 01 02 02 "+uds.FormatHex(u32(sum)), "71 01 02 02 00")
	expect(t, c, "31 01 02 02 "+uds.FormatHex(u32(sum+1)), "71 01 02 02 01")
	if got := readBack(t, c, addr, size); !bytes.Equal(got, image) {
		t.Fatal("23 read back differs from the image downloaded")
	}
	expect(t, c, "23 24 00 00 FF FE 00 02", "63 FF FF") // just before the image: erased
	expect(t, c, "23 14 00 01 00 00 02", "63 "+uds.FormatHex(image[:2]))
	if n := s.RequestCount(0x36); n != blocks {
		t.Errorf("RequestCount(0x36) = %d, want %d blocks", n, blocks)
	}
	if n := s.RequestCount(0x34); n != 1 {
		t.Errorf("RequestCount(0x34) = %d, want 1", n)
	}
}

// The NRC paths of the flash contract, each from a fresh simulator with 0x100 bytes of
// memory at 0x1000 and blocks of at most 16 bytes (14 data bytes).
func TestFlashNegativeResponses(t *testing.T) {
	small := UDS{Memory: []MemoryRegion{{Address: 0x1000, Size: 0x100}}, Flash: Flash{MaxNumberOfBlockLength: 0x10}}
	open4 := step{"34 00 44 00 00 10 00 00 00 00 04", "74 20 00 10"}
	tests := []struct {
		name  string
		steps [][]step
		cfg   func(*UDS)
	}{
		{name: "34 in the default session", steps: [][]step{{{"34 00 44 00 00 10 00 00 00 00 04", "7F 34 7F"}}}},
		{name: "34 in the extended session", steps: [][]step{{{"10 03", "50 03 00 32 01 F4"}, {"34 00 44 00 00 10 00 00 00 00 04", "7F 34 7F"}}}},
		{name: "34 locked", steps: [][]step{unlock[:1], {{"34 00 44 00 00 10 00 00 00 00 04", "7F 34 33"}}}},
		{name: "34 without security levels needs no unlock", steps: [][]step{unlock[:1], {open4}},
			cfg: func(u *UDS) { u.Security = &Security{Levels: []int{}} }},
		{name: "34 before the memory", steps: [][]step{unlock, {{"34 00 44 00 00 0F FF 00 00 00 02", "7F 34 31"}}}},
		{name: "34 past the memory", steps: [][]step{unlock, {{"34 00 44 00 00 10 00 00 00 01 01", "7F 34 31"}}}},
		{name: "34 size zero", steps: [][]step{unlock, {{"34 00 44 00 00 10 00 00 00 00 00", "7F 34 31"}}}},
		{name: "34 compressed", steps: [][]step{unlock, {{"34 11 44 00 00 10 00 00 00 00 04", "7F 34 31"}}}},
		{name: "34 address length 5", steps: [][]step{unlock, {{"34 00 45 00 00 00 10 00 00 00 00 04", "7F 34 31"}}}},
		{name: "34 size length 0", steps: [][]step{unlock, {{"34 00 04 00 00 10 00", "7F 34 31"}}}},
		{name: "34 short", steps: [][]step{unlock, {{"34 00 44 00 00 10 00 00 00", "7F 34 13"}}}},
		{name: "34 while a transfer is active", steps: [][]step{unlock, {open4, open4.with("7F 34 22")}}},
		{name: "36 with no transfer", steps: [][]step{unlock, {{"36 01 AA", "7F 36 24"}}}},
		{name: "36 out of sequence", steps: [][]step{unlock, {open4, {"36 02 AA", "7F 36 73"}, {"36 00 AA", "7F 36 73"}, {"36 01 AA", "76 01"}, {"36 03 AA", "7F 36 73"}}}},
		{name: "36 more than announced", steps: [][]step{unlock, {open4, {"36 01 01 02 03", "76 01"}, {"36 02 04 05", "7F 36 71"}, {"36 03 04", "7F 36 24"}, {"37", "7F 37 24"}}}},
		{name: "36 longer than maxNumberOfBlockLength", steps: [][]step{unlock, {
			{"34 00 44 00 00 10 00 00 00 00 20", "74 20 00 10"},
			{"36 01 " + uds.FormatHex(make([]byte, 15)), "7F 36 13"},
			{"36 01 " + uds.FormatHex(make([]byte, 14)), "76 01"}}}},
		{name: "36 without data", steps: [][]step{unlock, {open4, {"36 01", "7F 36 13"}}}},
		{name: "37 with no transfer", steps: [][]step{unlock, {{"37", "7F 37 24"}}}},
		{name: "37 before every byte", steps: [][]step{unlock, {open4, {"36 01 01 02 03", "76 01"}, {"37", "7F 37 24"}, {"36 02 04", "76 02"}, {"37", "77"}, {"37", "7F 37 24"}}}},
		{name: "34 again after 37", steps: [][]step{unlock, {open4, {"36 01 01 02 03 04", "76 01"}, {"37", "77"}, open4}}},
		{name: "23 out of range", steps: [][]step{{{"23 44 00 00 10 FF 00 00 00 02", "7F 23 31"}, {"23 44 00 00 20 00 00 00 00 01", "7F 23 31"}, {"23 44 00 00 10 00 00 00 00 00", "7F 23 31"}}}},
		{name: "23 bad format", steps: [][]step{{{"23 00 10 00", "7F 23 31"}, {"23 44 00 00 10 00", "7F 23 13"}, {"23", "7F 23 13"}}}},
		{name: "23 too long for one answer", steps: [][]step{{{"23 44 00 00 00 00 00 01 00 01", "7F 23 31"}}},
			cfg: func(u *UDS) { u.Memory = nil }},
		{name: "erase out of range", steps: [][]step{unlock, {{"31 01 FF 00 00 00 10 00 00 00 01 01", "7F 31 31"}}}},
		{name: "erase wrong length", steps: [][]step{unlock, {{"31 01 FF 00 00 00 10 00 00 00 01", "7F 31 13"}}}},
		{name: "erase outside programming", steps: [][]step{{{"10 03", "50 03 00 32 01 F4"}, {"31 01 FF 00 00 00 10 00 00 00 01 00", "7F 31 22"}}}},
		{name: "erase during a transfer", steps: [][]step{unlock, {open4, {"31 01 FF 00 00 00 10 00 00 00 01 00", "7F 31 22"}}}},
		{name: "erase results", steps: [][]step{unlock, {{"31 03 FF 00", "7F 31 12"}}}},
		{name: "check wrong length", steps: [][]step{unlock, {{"31 01 02 02 00 00 00", "7F 31 13"}}}},
		{name: "check with nothing written", steps: [][]step{unlock, {{"31 01 02 02 00 00 00 00", "71 01 02 02 00"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := small
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			s := startSim(t, Config{UDS: cfg})
			run(t, uds.NewClient(dial(t, s), DefaultLogicalAddress), tt.steps...)
		})
	}
}

// with is the same request expecting another answer.
func (s step) with(want string) step { return step{s.req, want} }

// A tester that lost an answer repeats the block: the ECU answers it again without writing
// it a second time, so neither the memory nor the CRC sees it twice.
func TestFlashRepeatedBlockIsWrittenOnce(t *testing.T) {
	s := startSim(t, Config{})
	c := uds.NewClient(dial(t, s), DefaultLogicalAddress)
	run(t, c, unlock, []step{
		{"34 00 44 00 00 00 00 00 00 00 08", "74 20 0F FA"},
		{"36 01 01 02 03 04", "76 01"},
		{"36 01 01 02 03 04", "76 01"},
		{"36 01 AA BB CC DD", "76 01"}, // the counter decides: this is the same block
		{"36 02 05 06 07 08", "76 02"},
		{"36 02 05 06 07 08", "76 02"},
		{"37", "77"},
		{"23 44 00 00 00 00 00 00 00 09", "63 01 02 03 04 05 06 07 08 FF"},
	})
	sum := crc32.ChecksumIEEE([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	expect(t, c, "31 01 02 02 "+uds.FormatHex(u32(sum)), "71 01 02 02 00")
	if n := s.RequestCount(0x36); n != 5 {
		t.Errorf("RequestCount(0x36) = %d, want the 5 sent", n)
	}
}

// Erasing answers response pending first when a rule says so, and sets the range to 0xFF;
// the CRC then covers only what is written after the erase.
func TestFlashEraseWithResponsePending(t *testing.T) {
	s := startSim(t, Config{UDS: UDS{ResponsePending: []PendingRule{{Request: "31 01 FF 00", Count: 2, Interval: "50ms"}}}})
	conn := dial(t, s)
	c := uds.NewClient(conn, DefaultLogicalAddress)
	run(t, c, unlock, []step{
		{"34 00 44 00 00 00 00 00 00 00 04", "74 20 0F FA"},
		{"36 01 01 02 03 04", "76 01"},
		{"37", "77"},
	})
	ctx := testContext(t)
	if err := conn.Send(ctx, DefaultLogicalAddress, []byte{0x31, 0x01, 0xFF, 0x00, 0, 0, 0, 2, 0, 0, 0, 1}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"7F 31 78", "7F 31 78", "71 01 FF 00 00"} {
		m, err := conn.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := uds.FormatHex(m.Data); got != want {
			t.Fatalf("answer %d to the erase: %s, want %s", i, got, want)
		}
	}
	expect(t, c, "23 14 00 00 00 00 04", "63 01 02 FF 04")
	expect(t, c, "31 01 02 02 00 00 00 00", "71 01 02 02 00") // nothing written since the erase
	run(t, c, []step{
		{"34 00 44 00 00 00 02 00 00 00 01", "74 20 0F FA"},
		{"36 01 03", "76 01"},
		{"37", "77"},
	})
	expect(t, c, "31 01 02 02 "+uds.FormatHex(u32(crc32.ChecksumIEEE([]byte{3}))), "71 01 02 02 00")
}

// A session change aborts a transfer: the blocks written stay, the rest is refused.
func TestFlashSessionChangeAbortsTransfer(t *testing.T) {
	for _, leave := range []step{{"10 03", "50 03 00 32 01 F4"}, {"10 01", "50 01 00 32 01 F4"}} {
		t.Run(leave.req, func(t *testing.T) {
			s := startSim(t, Config{})
			c := uds.NewClient(dial(t, s), DefaultLogicalAddress)
			run(t, c, unlock, []step{
				{"34 00 44 00 00 00 00 00 00 00 04", "74 20 0F FA"},
				{"36 01 01 02", "76 01"},
				leave,
			}, unlock, []step{
				{"36 02 03 04", "7F 36 24"},
				{"37", "7F 37 24"},
				{"34 00 44 00 00 00 00 00 00 00 04", "74 20 0F FA"}, // a new transfer may start
				{"23 14 00 00 00 00 04", "63 01 02 FF FF"},
			})
		})
	}
}

// An ECU reset aborts a transfer too (driven without sockets: the reset drops them).
func TestFlashResetAbortsTransfer(t *testing.T) {
	e := newTestECU(t, UDS{Security: &Security{Levels: []int{}}})
	now := e.lastRequest
	for _, st := range []step{
		{"10 02", "50 02 00 32 01 F4"},
		{"34 00 44 00 00 00 00 00 00 00 04", "74 20 0F FA"},
		{"36 01 01 02", "76 01"},
		{"11 01", "51 01"},
		{"10 02", "50 02 00 32 01 F4"},
		{"36 02 03 04", "7F 36 24"},
		{"23 14 00 00 00 00 03", "63 01 02 FF"}, // flash survives the reset
	} {
		if got := respondHex(t, e, st.req, now); got != st.want {
			t.Errorf("%s: got %s, want %s", st.req, got, st.want)
		}
	}
}

func TestFlashBlockDelay(t *testing.T) {
	s := startSim(t, Config{UDS: UDS{Flash: Flash{BlockDelay: "150ms"}}})
	c := uds.NewClient(dial(t, s), DefaultLogicalAddress)
	c.NetworkMargin = 2 * time.Second // P2 after 10 02: 50ms + 2s, well above the block delay
	run(t, c, unlock, []step{{"34 00 44 00 00 00 00 00 00 00 02", "74 20 0F FA"}})
	for i := range 2 {
		start := time.Now()
		expect(t, c, fmt.Sprintf("36 %02X AA", i+1), fmt.Sprintf("76 %02X", i+1))
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("block %d answered after %v, want at least the 150ms block delay", i+1, d)
		}
	}
	start := time.Now()
	expect(t, c, "37", "77")
	if d := time.Since(start); d >= 150*time.Millisecond {
		t.Errorf("37 took %v: the block delay is for 36 only", d)
	}
}

// A routine configured under routines keeps its table answer even with the erase routine's id.
func TestConfiguredRoutineWinsOverFlashRoutine(t *testing.T) {
	s := startSim(t, Config{UDS: UDS{Routines: map[string]Routine{"0xFF00": {Start: ptr(Hex("AB"))}}}})
	c := uds.NewClient(dial(t, s), DefaultLogicalAddress)
	run(t, c, unlock, []step{{"31 01 FF 00", "71 01 FF 00 AB"}, {"31 01 02 02 00 00 00 00", "71 01 02 02 00"}})
}

// Two downloads to the same addresses without an erase between them: the check routine's
// CRC covers both, in order, the first with the bytes it wrote, not those that replaced them.
func TestFlashCheckSumsEveryDownloadInOrder(t *testing.T) {
	s := startSim(t, Config{})
	c := uds.NewClient(dial(t, s), DefaultLogicalAddress)
	run(t, c, unlock, []step{
		{"34 00 44 00 00 00 00 00 00 00 04", "74 20 0F FA"},
		{"36 01 01 02 03 04", "76 01"},
		{"37", "77"},
		{"34 00 44 00 00 00 02 00 00 00 04", "74 20 0F FA"},
		{"36 01 AA BB CC DD", "76 01"},
		{"37", "77"},
		{"23 44 00 00 00 00 00 00 00 06", "63 01 02 AA BB CC DD"},
	})
	sum := crc32.ChecksumIEEE([]byte{1, 2, 3, 4, 0xAA, 0xBB, 0xCC, 0xDD})
	expect(t, c, "31 01 02 02 "+uds.FormatHex(u32(sum)), "71 01 02 02 00")
}
