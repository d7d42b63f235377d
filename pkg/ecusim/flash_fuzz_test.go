package ecusim

import (
	"testing"

	"github.com/ecufleet/ecufleet/pkg/uds"
)

// fuzzRequests splits fuzz input into requests: a length byte (mod 40), then that many bytes.
func fuzzRequests(data []byte) [][]byte {
	var reqs [][]byte
	for len(data) > 0 {
		n := min(int(data[0])%40, len(data)-1)
		if req := data[1 : 1+n]; len(req) > 0 {
			reqs = append(reqs, req)
		}
		data = data[1+n:]
	}
	return reqs
}

// fuzzInput is the inverse of fuzzRequests, for seeds.
func fuzzInput(reqs ...string) []byte {
	var out []byte
	for _, r := range reqs {
		b, err := uds.ParseHex(r)
		if err != nil {
			panic(err)
		}
		out = append(append(out, byte(len(b))), b...)
	}
	return out
}

// FuzzFlashServices sends random request sequences to an ECU in the programming session
// with two small memory regions, one not page aligned: no sequence panics, every answer is a
// positive answer to the service or a 3-byte negative one, a transfer never points outside
// the memory, and no byte outside the regions is ever written.
func FuzzFlashServices(f *testing.F) {
	f.Add(fuzzInput("34 00 44 00 00 01 00 00 00 00 08", "36 01 01 02 03 04", "36 01 01 02 03 04", "36 02 05 06 07 08", "37", "31 01 02 02 00 00 00 00"))
	f.Add(fuzzInput("34 00 22 10 F0 00 20", "36 01 "+uds.FormatHex(make([]byte, 30)), "36 02 AA AA", "37", "23 22 10 F0 00 20"))
	f.Add(fuzzInput("34 00 44 00 00 01 7C 00 00 00 08", "36 01 01 02 03 04 05 06 07 08 09", "10 03", "36 02 AA"))
	f.Add(fuzzInput("31 01 FF 00 00 00 01 00 00 00 00 80", "34 00 11 00 01", "36 01 AA", "36 00 AA", "11 01", "10 02", "37"))
	f.Add(fuzzInput("34 00 14 00 00 01 00", "36 01", "36 FF 00 00", "23 14 00 00 10 00 04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := newECU("", DefaultLogicalAddress, [17]byte([]byte(DefaultVIN)), UDS{
			Security: &Security{Levels: []int{}},
			Memory:   []MemoryRegion{{Address: 0x100, Size: 0x80}, {Address: 0x1000, Size: 0x2000}},
			Flash:    Flash{MaxNumberOfBlockLength: 0x20},
		})
		if err != nil {
			t.Fatal(err)
		}
		now := e.lastRequest
		e.respond([]byte{0x10, 0x02}, now)
		for _, req := range fuzzRequests(data) {
			resp, _ := e.respond(req, now)
			switch {
			case len(resp) == 3 && resp[0] == 0x7F && resp[1] == req[0]:
			case len(resp) >= 1 && resp[0] == req[0]+0x40:
			default:
				t.Fatalf("request % X got % X", req, resp)
			}
			if x := e.flash.xfer; x.active && (x.next > x.end || !e.flash.mem.contains(x.next, x.end-x.next) && x.next != x.end) {
				t.Fatalf("after % X the transfer points at 0x%X..0x%X, outside the memory", req, x.next, x.end)
			}
			if a, ok := outside(e.flash.mem); ok {
				t.Fatalf("after % X byte 0x%X outside the memory regions was written", req, a)
			}
		}
	})
}
