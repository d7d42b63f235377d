package ecusim

import (
	"bytes"
	"encoding/binary"
	"slices"
	"time"

	"github.com/ecufleet/ecufleet/pkg/uds"
)

// dtcAvailabilityMask is the set of DTC status bits the simulator reports as supported (all).
const dtcAvailabilityMask = 0xFF

func negative(sid uds.SID, nrc uds.NRC) []byte {
	return []byte{byte(uds.SIDNegativeResponse), byte(sid), byte(nrc)}
}

func positive(sid uds.SID, data ...byte) []byte {
	return append([]byte{byte(sid) + uds.PositiveResponseOffset}, data...)
}

// respond computes the ECU's answer to req and applies its effects on the ECU's state;
// reset reports an ECU reset, whose socket and boot effects belong to the Sim.
func (e *ecu) respond(req []byte, now time.Time) (resp []byte, reset bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.session != uds.SessionDefault && now.Sub(e.lastRequest) > e.s3 {
		e.enterSession(uds.SessionDefault) // S3 expired: the ECU fell back on its own
	}
	e.lastRequest = now
	e.requests[req[0]]++
	sid := uds.SID(req[0])
	switch sid {
	case uds.SIDDiagnosticSessionControl:
		return e.sessionControl(req), false
	case uds.SIDECUReset:
		resp = e.ecuReset(req)
		return resp, resp[0] != byte(uds.SIDNegativeResponse)
	case uds.SIDTesterPresent:
		if len(req) != 2 {
			return negative(sid, uds.NRCIncorrectMessageLength), false
		}
		if req[1]&^uds.SuppressPositiveResponse != 0 {
			return negative(sid, uds.NRCSubFunctionNotSupported), false
		}
		return positive(sid, 0x00), false
	case uds.SIDReadDataByIdentifier:
		return e.readDIDs(req), false
	case uds.SIDReadDTCInformation:
		return e.readDTCs(req), false
	case uds.SIDClearDiagnosticInformation:
		return e.clearDTCs(req), false
	case uds.SIDReadMemoryByAddress:
		return e.readMemory(req), false
	case uds.SIDRequestDownload:
		return e.requestDownload(req), false
	case uds.SIDTransferData:
		return e.transferData(req), false
	case uds.SIDRequestTransferExit:
		return e.requestTransferExit(req), false
	case uds.SIDWriteDataByIdentifier, uds.SIDSecurityAccess, uds.SIDRoutineControl:
		if e.session == uds.SessionDefault {
			return negative(sid, uds.NRCServiceNotSupportedInActiveSession), false
		}
		switch sid {
		case uds.SIDWriteDataByIdentifier:
			return e.writeDID(req), false
		case uds.SIDSecurityAccess:
			return e.securityAccess(req, now), false
		}
		return e.routineControl(req), false
	}
	return negative(sid, uds.NRCServiceNotSupported), false
}

// enterSession switches session; as ISO 14229-1 requires, any switch locks security access
// again, and routines started and a transfer opened in the old session are forgotten.
func (e *ecu) enterSession(s uds.Session) {
	e.session = s
	e.unlocked, e.seedLevel = 0, 0
	clear(e.started)
	e.flash.sessionChanged(s)
}

func (e *ecu) sessionControl(req []byte) []byte {
	sid := uds.SIDDiagnosticSessionControl
	if len(req) != 2 {
		return negative(sid, uds.NRCIncorrectMessageLength)
	}
	s := uds.Session(req[1] &^ uds.SuppressPositiveResponse)
	if s < uds.SessionDefault || s > uds.SessionExtended {
		return negative(sid, uds.NRCSubFunctionNotSupported)
	}
	e.enterSession(s)
	return uds.SessionControlResponse(s, e.p2, e.p2Star)
}

func (e *ecu) ecuReset(req []byte) []byte {
	sid := uds.SIDECUReset
	if len(req) != 2 {
		return negative(sid, uds.NRCIncorrectMessageLength)
	}
	t := uds.ResetType(req[1] &^ uds.SuppressPositiveResponse)
	if t < uds.ResetHard || t > uds.ResetSoft {
		return negative(sid, uds.NRCSubFunctionNotSupported)
	}
	e.enterSession(uds.SessionDefault)
	return positive(sid, byte(t))
}

func (e *ecu) readDIDs(req []byte) []byte {
	sid := uds.SIDReadDataByIdentifier
	if len(req) < 3 || (len(req)-1)%2 != 0 {
		return negative(sid, uds.NRCIncorrectMessageLength)
	}
	resp := positive(sid)
	for ids := req[1:]; len(ids) > 0; ids = ids[2:] {
		if d, ok := e.dids[binary.BigEndian.Uint16(ids)]; ok {
			resp = append(append(resp, ids[:2]...), d.data...)
		}
	}
	if len(resp) == 1 {
		return negative(sid, uds.NRCRequestOutOfRange) // none of the DIDs exists
	}
	return resp
}

func (e *ecu) writeDID(req []byte) []byte {
	sid := uds.SIDWriteDataByIdentifier
	if len(req) < 4 {
		return negative(sid, uds.NRCIncorrectMessageLength)
	}
	d, ok := e.dids[binary.BigEndian.Uint16(req[1:])]
	switch {
	case !ok || !d.writable:
		return negative(sid, uds.NRCRequestOutOfRange)
	case d.protected && e.unlocked == 0:
		return negative(sid, uds.NRCSecurityAccessDenied)
	case len(req)-3 != len(d.data):
		return negative(sid, uds.NRCIncorrectMessageLength)
	}
	d.data = bytes.Clone(req[3:])
	return positive(sid, req[1], req[2])
}

func (e *ecu) readDTCs(req []byte) []byte {
	sid := uds.SIDReadDTCInformation
	if len(req) < 2 {
		return negative(sid, uds.NRCIncorrectMessageLength)
	}
	report := req[1] &^ uds.SuppressPositiveResponse
	if report != uds.ReportNumberOfDTCByStatusMask && report != uds.ReportDTCByStatusMask {
		return negative(sid, uds.NRCSubFunctionNotSupported)
	}
	if len(req) != 3 {
		return negative(sid, uds.NRCIncorrectMessageLength)
	}
	mask := req[2]
	if report == uds.ReportNumberOfDTCByStatusMask {
		n := 0
		for _, d := range e.dtcs {
			if d.Status&mask != 0 {
				n++
			}
		}
		return positive(sid, report, dtcAvailabilityMask, uds.DTCFormatISO14229, byte(n>>8), byte(n))
	}
	resp := positive(sid, report, dtcAvailabilityMask)
	for _, d := range e.dtcs {
		if d.Status&mask != 0 {
			resp = append(resp, byte(d.Code>>16), byte(d.Code>>8), byte(d.Code), d.Status)
		}
	}
	return resp
}

func (e *ecu) clearDTCs(req []byte) []byte {
	sid := uds.SIDClearDiagnosticInformation
	if len(req) != 4 {
		return negative(sid, uds.NRCIncorrectMessageLength)
	}
	group := uint32(req[1])<<16 | uint32(req[2])<<8 | uint32(req[3])
	if group == uds.GroupAllDTCs {
		e.dtcs = e.dtcs[:0]
		return positive(sid)
	}
	i := slices.IndexFunc(e.dtcs, func(d uds.DTC) bool { return d.Code == group })
	if i < 0 {
		return negative(sid, uds.NRCRequestOutOfRange)
	}
	e.dtcs = slices.Delete(e.dtcs, i, i+1)
	return positive(sid)
}

func (e *ecu) securityAccess(req []byte, now time.Time) []byte {
	sid := uds.SIDSecurityAccess
	if len(req) < 2 {
		return negative(sid, uds.NRCIncorrectMessageLength)
	}
	level := req[1] &^ uds.SuppressPositiveResponse
	sec := &e.security
	if level%2 == 1 { // requestSeed
		switch {
		case !slices.Contains(sec.levels, level):
			return negative(sid, uds.NRCSubFunctionNotSupported)
		case len(req) != 2:
			return negative(sid, uds.NRCIncorrectMessageLength)
		case now.Before(e.lockedUntil):
			return negative(sid, uds.NRCRequiredTimeDelayNotExpired)
		case e.unlocked == level:
			return positive(sid, append([]byte{level}, make([]byte, len(sec.seed))...)...)
		}
		e.seedLevel = level
		return positive(sid, append([]byte{level}, sec.seed...)...)
	}
	seedLevel := level - 1
	switch {
	case level == 0 || !slices.Contains(sec.levels, seedLevel):
		return negative(sid, uds.NRCSubFunctionNotSupported)
	case len(req) < 3:
		return negative(sid, uds.NRCIncorrectMessageLength)
	case e.seedLevel != seedLevel:
		return negative(sid, uds.NRCRequestSequenceError)
	}
	e.seedLevel = 0 // a seed answers one key
	if !bytes.Equal(req[2:], sec.key) {
		e.failedKeys++
		if e.failedKeys >= sec.maxAttempts {
			e.failedKeys = 0
			e.lockedUntil = now.Add(sec.lockout)
			return negative(sid, uds.NRCExceededNumberOfAttempts)
		}
		return negative(sid, uds.NRCInvalidKey)
	}
	e.failedKeys, e.unlocked = 0, seedLevel
	return positive(sid, level)
}

func (e *ecu) routineControl(req []byte) []byte {
	sid := uds.SIDRoutineControl
	if len(req) < 4 {
		return negative(sid, uds.NRCIncorrectMessageLength)
	}
	if resp, ok := e.flashRoutine(req); ok {
		return resp
	}
	t := uds.RoutineControlType(req[1] &^ uds.SuppressPositiveResponse)
	id := binary.BigEndian.Uint16(req[2:])
	r, ok := e.routines[id]
	switch {
	case t < uds.RoutineStart || t > uds.RoutineResults:
		return negative(sid, uds.NRCSubFunctionNotSupported)
	case !ok:
		return negative(sid, uds.NRCRequestOutOfRange)
	case r[t] == nil:
		return negative(sid, uds.NRCSubFunctionNotSupported)
	case t != uds.RoutineStart && !e.started[id]:
		return negative(sid, uds.NRCRequestSequenceError)
	}
	if t == uds.RoutineStart {
		e.started[id] = true
	}
	return positive(sid, append([]byte{byte(t), req[2], req[3]}, r[t]...)...)
}
