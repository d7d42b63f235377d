package pcapng

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

// FuzzWriter drives a Writer with calls decoded from random bytes: whatever they are, it
// must not panic, must stay within its budget, and what it wrote must re-read with every
// length and checksum right.
func FuzzWriter(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 20, 0x02, 0xFD, 0x80, 0x01, 0, 0, 0, 5, 0x0E, 0, 0x10, 0x01, 0x36})
	f.Add([]byte{3, 1, 0, 0, 2, 3, 0, 1, 1, 1, 255, 255, 2, 2, 1, 0, 0, 0})
	f.Add(append([]byte{0, 0, 0, 0, 0, 0, 0, 0x20, 0x00}, transferData(3, 300)...))
	addrs := []netip.AddrPort{tester, ecu, udpTester,
		netip.MustParseAddrPort("[2001:db8::10]:50123"), netip.MustParseAddrPort("[2001:db8::20]:13400"),
		netip.MustParseAddrPort("[::ffff:192.0.2.30]:13400")}
	f.Fuzz(func(t *testing.T, in []byte) {
		next := func() byte {
			if len(in) == 0 {
				return 0
			}
			b := in[0]
			in = in[1:]
			return b
		}
		opts := Options{MaxBytes: int(next()) * 64, MSS: []int{0, 64, 100, 1460}[next()%4]}
		if opts.MaxBytes != 0 {
			opts.MaxBytes += 300 // room for the file header
		}
		var buf bytes.Buffer
		w, err := NewWriter(&buf, opts)
		if err != nil {
			t.Fatalf("NewWriter(%+v): %v", opts, err)
		}
		at := t0
		for len(in) > 0 {
			op, dir, transport := next(), Direction(next()%3), Transport(next()%3)
			local, remote := addrs[int(next())%len(addrs)], addrs[int(next())%len(addrs)]
			at = at.Add(time.Duration(next()) * time.Millisecond)
			n := int(next())<<8 | int(next())
			data := in[:min(n, len(in))]
			in = in[len(data):]
			switch op % 3 {
			case 0:
				_ = w.Frame(Frame{Time: at, Dir: dir, Transport: transport, Local: local, Remote: remote, Data: data, Comment: string(data)})
			case 1:
				_ = w.Event(Event{Time: at, Kind: Open, Dir: dir, Local: local, Remote: remote, Comment: string(data)})
			case 2:
				_ = w.Event(Event{Time: at, Kind: Close, Dir: dir, Local: local, Remote: remote})
			}
		}
		if w.Bytes() != buf.Len() {
			t.Fatalf("Bytes() = %d, wrote %d", w.Bytes(), buf.Len())
		}
		if opts.MaxBytes != 0 && buf.Len() > opts.MaxBytes {
			t.Fatalf("wrote %d bytes, budget %d", buf.Len(), opts.MaxBytes)
		}
		if _, err := readTrace(buf.Bytes()); err != nil {
			t.Fatalf("re-reading: %v", err)
		}
	})
}
