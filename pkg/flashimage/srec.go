package flashimage

// srecAddressBytes is the address width of each S-record type; 0 marks S4, which is reserved.
var srecAddressBytes = [10]int{2, 2, 3, 4, 0, 2, 3, 4, 3, 2}

// ParseSRec reads Motorola S-records: header (S0, ignored), data with 16-, 24- and 32-bit
// addresses (S1, S2, S3), record counts (S5, S6, checked against the data records before
// them) and start addresses (S7, S8, S9, which end the file; lines after one must be blank).
// A file without a termination record is accepted, as many tools write none.
func ParseSRec(data []byte, maxSize int64) (*Image, error) {
	b := newBuilder(FormatSRec, maxSize)
	var start *uint32
	records, end := 0, 0
	err := lines(data, func(n int, line []byte) error {
		if len(line) == 0 {
			return nil
		}
		if end != 0 {
			return b.errorf(n, "record after the termination record on line %d", end)
		}
		if len(line) < 2 || line[0] != 'S' || line[1] < '0' || line[1] > '9' {
			return b.errorf(n, "does not start with S0..S9")
		}
		typ := int(line[1] - '0')
		width := srecAddressBytes[typ]
		if width == 0 {
			return b.errorf(n, "S4 is a reserved record type")
		}
		rec, err := decodeHex(b, n, line[2:])
		if err != nil {
			return err
		}
		if len(rec) < 1+width+1 {
			return b.errorf(n, "record is %d bytes after the type, want at least %d for S%d (count, address, checksum)", len(rec), width+2, typ)
		}
		if len(rec) != int(rec[0])+1 {
			return b.errorf(n, "record is %d bytes after the type, its count byte says %d", len(rec), int(rec[0])+1)
		}
		var sum byte
		for _, c := range rec[:len(rec)-1] {
			sum += c
		}
		if got, want := rec[len(rec)-1], ^sum; got != want {
			return b.errorf(n, "bad checksum 0x%02X, want 0x%02X", got, want)
		}
		var addr uint64
		for _, c := range rec[1 : 1+width] {
			addr = addr<<8 | uint64(c)
		}
		payload := rec[1+width : len(rec)-1]
		switch typ {
		case 0:
		case 1, 2, 3:
			records++
			return b.add(addr, payload, n)
		case 5, 6:
			if len(payload) != 0 {
				return b.errorf(n, "S%d carries %d data bytes, want none", typ, len(payload))
			}
			if addr != uint64(records) {
				return b.errorf(n, "S%d counts %d data records, the file has %d before it", typ, addr, records)
			}
		case 7, 8, 9:
			if len(payload) != 0 {
				return b.errorf(n, "S%d carries %d data bytes, want none", typ, len(payload))
			}
			v := uint32(addr)
			start, end = &v, n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.image(start)
}
