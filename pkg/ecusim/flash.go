package ecusim

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/ecufleet/ecufleet/pkg/uds"
)

const (
	// lengthFormatIdentifier says the 74 answer carries maxNumberOfBlockLength in 2 bytes.
	lengthFormatIdentifier = 0x20
	// maxReadLength bounds one 23 answer, so a request for 4 GiB is refused, not allocated.
	maxReadLength = 0x10000
)

// Routine status records of the erase and check routines.
const (
	routineCorrect   = 0x00
	routineIncorrect = 0x01
)

// flash is an ECU's memory and its download state, guarded by the ecu's mu.
type flash struct {
	cfg  flashConfig
	mem  *memory
	xfer transfer
	// crc is the CRC-32 (IEEE) of the bytes 36 wrote since the last erase or since the
	// programming session began, which the check routine compares with the tester's.
	crc uint32
}

// transfer is an active download, from a positive 34 until 37 or its abort.
type transfer struct {
	active bool
	next   uint64 // address of the next byte
	end    uint64 // one past the last announced byte
	last   byte   // the last accepted block sequence counter (0 before the first block)
	any    bool   // a block was accepted, so last may be repeated
}

func newFlash(cfg flashConfig) *flash {
	return &flash{cfg: cfg, mem: newMemory(cfg.regions)}
}

// sessionChanged aborts an active transfer, as a session change or reset does on an ECU, and
// starts a new check sum when the programming session begins.
func (f *flash) sessionChanged(s uds.Session) {
	f.xfer = transfer{}
	if s == uds.SessionProgramming {
		f.crc = 0
	}
}

// program writes an accepted block at addr and sums it into the check routine's CRC-32.
func (f *flash) program(addr uint64, data []byte) {
	f.mem.write(addr, data)
	f.crc = crc32.Update(f.crc, crc32.IEEETable, data)
}

// blockDelayRule holds back each 36 answer by the configured block delay; it goes after the
// configured delays, so a delay rule for a 36 request replaces it for that request.
func (f *flash) blockDelayRule() (rule, bool) {
	return rule{prefix: []byte{byte(uds.SIDTransferData)}, interval: f.cfg.blockDelay}, f.cfg.blockDelay > 0
}

// parseAddressAndSize decodes addressAndLengthFormatIdentifier, memoryAddress and memorySize,
// which must fill b exactly; both lengths are 1..4 bytes since the simulator's addresses are 32 bits.
func parseAddressAndSize(b []byte) (addr, size uint64, nrc uds.NRC) {
	if len(b) < 1 {
		return 0, 0, uds.NRCIncorrectMessageLength
	}
	alen, slen := int(b[0]&0x0F), int(b[0]>>4)
	if alen < 1 || alen > 4 || slen < 1 || slen > 4 {
		return 0, 0, uds.NRCRequestOutOfRange
	}
	if len(b) != 1+alen+slen {
		return 0, 0, uds.NRCIncorrectMessageLength
	}
	return bigEndian(b[1 : 1+alen]), bigEndian(b[1+alen:]), 0
}

func bigEndian(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}

// requestDownload is 34 DFI ALFID address size: it opens a transfer into the memory.
func (e *ecu) requestDownload(req []byte) []byte {
	sid, f := uds.SIDRequestDownload, e.flash
	switch {
	case e.session != uds.SessionProgramming:
		return negative(sid, uds.NRCServiceNotSupportedInActiveSession)
	case len(req) < 3:
		return negative(sid, uds.NRCIncorrectMessageLength)
	case len(e.security.levels) > 0 && e.unlocked == 0:
		return negative(sid, uds.NRCSecurityAccessDenied)
	case f.xfer.active:
		return negative(sid, uds.NRCConditionsNotCorrect)
	case req[1] != 0x00: // compression and encryption are not simulated
		return negative(sid, uds.NRCRequestOutOfRange)
	}
	addr, size, nrc := parseAddressAndSize(req[2:])
	if nrc != 0 {
		return negative(sid, nrc)
	}
	if !f.mem.contains(addr, size) {
		return negative(sid, uds.NRCRequestOutOfRange)
	}
	f.xfer = transfer{active: true, next: addr, end: addr + size}
	return positive(sid, lengthFormatIdentifier, byte(f.cfg.maxBlock>>8), byte(f.cfg.maxBlock))
}

// transferData is 36 counter data: it writes the next block of the transfer. The last
// accepted block again is answered positively without writing it twice, since a tester
// repeats a block whose answer it lost.
func (e *ecu) transferData(req []byte) []byte {
	sid, f := uds.SIDTransferData, e.flash
	x := &f.xfer
	switch {
	case e.session != uds.SessionProgramming:
		return negative(sid, uds.NRCServiceNotSupportedInActiveSession)
	case len(req) < minBlockLength:
		return negative(sid, uds.NRCIncorrectMessageLength)
	case !x.active:
		return negative(sid, uds.NRCRequestSequenceError)
	case len(req) > f.cfg.maxBlock:
		return negative(sid, uds.NRCIncorrectMessageLength)
	}
	counter, data := req[1], req[2:]
	switch {
	case x.any && counter == x.last:
		return positive(sid, counter)
	case counter != x.last+1:
		return negative(sid, uds.NRCWrongBlockSequenceCounter)
	case uint64(len(data)) > x.end-x.next:
		f.xfer = transfer{} // ISO 14229-1: transferDataSuspended aborts the transfer
		return negative(sid, uds.NRCTransferDataSuspended)
	}
	f.program(x.next, data)
	x.next += uint64(len(data))
	x.last, x.any = counter, true
	return positive(sid, counter)
}

// requestTransferExit is 37: it ends a transfer once every announced byte arrived.
func (e *ecu) requestTransferExit(req []byte) []byte {
	sid, f := uds.SIDRequestTransferExit, e.flash
	switch {
	case e.session != uds.SessionProgramming:
		return negative(sid, uds.NRCServiceNotSupportedInActiveSession)
	case !f.xfer.active || f.xfer.next != f.xfer.end:
		return negative(sid, uds.NRCRequestSequenceError)
	}
	f.xfer = transfer{}
	return positive(sid)
}

// readMemory is 23 ALFID address size: it answers the memory's bytes, 0xFF where unwritten.
func (e *ecu) readMemory(req []byte) []byte {
	sid := uds.SIDReadMemoryByAddress
	addr, size, nrc := parseAddressAndSize(req[1:])
	switch {
	case nrc != 0:
		return negative(sid, nrc)
	case size > maxReadLength || !e.flash.mem.contains(addr, size):
		return negative(sid, uds.NRCRequestOutOfRange)
	}
	return append(positive(sid), e.flash.mem.read(addr, size)...)
}

// flashRoutine answers 31 for the erase and check routines unless the routine table has the
// id; handled is false when the request is for another routine.
func (e *ecu) flashRoutine(req []byte) (resp []byte, handled bool) {
	sid, f := uds.SIDRoutineControl, e.flash
	id := binary.BigEndian.Uint16(req[2:])
	if _, configured := e.routines[id]; configured || (id != f.cfg.eraseRoutine && id != f.cfg.checkRoutine) {
		return nil, false
	}
	switch {
	case uds.RoutineControlType(req[1]&^uds.SuppressPositiveResponse) != uds.RoutineStart:
		return negative(sid, uds.NRCSubFunctionNotSupported), true
	case e.session != uds.SessionProgramming || f.xfer.active:
		return negative(sid, uds.NRCConditionsNotCorrect), true
	}
	status := byte(routineCorrect)
	if id == f.cfg.eraseRoutine {
		if len(req) != 12 {
			return negative(sid, uds.NRCIncorrectMessageLength), true
		}
		addr, size := uint64(binary.BigEndian.Uint32(req[4:])), uint64(binary.BigEndian.Uint32(req[8:]))
		if !f.mem.contains(addr, size) {
			return negative(sid, uds.NRCRequestOutOfRange), true
		}
		f.mem.erase(addr, size)
		f.crc = 0
	} else {
		if len(req) != 8 {
			return negative(sid, uds.NRCIncorrectMessageLength), true
		}
		if binary.BigEndian.Uint32(req[4:]) != f.crc {
			status = routineIncorrect
		}
	}
	return positive(sid, byte(uds.RoutineStart), req[2], req[3], status), true
}
