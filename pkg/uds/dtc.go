package uds

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// DTC is one diagnostic trouble code with its status byte, as 19 02 reports it.
type DTC struct {
	// Code is the 3-byte DTC: 2 bytes of SAE J2012 code and the failure type byte.
	Code uint32
	// Status is the ISO 14229-1 status byte (bit 0 testFailed ... bit 7 warningIndicatorRequested).
	Status byte
}

// String renders "P0123-00 status 0x2F", the form lab engineers read on scan tools.
func (d DTC) String() string {
	return fmt.Sprintf("%s status 0x%02X", FormatDTCCode(d.Code), d.Status)
}

// dtcLetters are the SAE J2012 system letters selected by the top two bits of the DTC.
const dtcLetters = "PCBU"

// FormatDTCCode renders a 3-byte DTC as "P0123-00": letter from the top two bits, four hex
// digits of code, then the failure type byte.
func FormatDTCCode(code uint32) string {
	hi := byte(code >> 16)
	return fmt.Sprintf("%c%d%X%02X-%02X", dtcLetters[hi>>6], (hi>>4)&0x3, hi&0x0F, byte(code>>8), byte(code))
}

// ParseDTCCode reads a DTC as configs write it: "P0123-00", "P0123" (failure type 00) or a
// 3-byte integer such as "0x012300".
func ParseDTCCode(s string) (uint32, error) {
	t := strings.TrimSpace(s)
	bad := &ArgumentError{Name: "DTC " + quote(s), Reason: `want "P0123-00", "P0123" or a 3-byte integer such as 0x012300`}
	if t == "" {
		return 0, bad
	}
	letter := strings.IndexByte(dtcLetters, strings.ToUpper(t[:1])[0])
	if letter < 0 {
		v, err := strconv.ParseUint(t, 0, 32)
		if err != nil || v > 0xFFFFFF {
			return 0, bad
		}
		return uint32(v), nil
	}
	code, ftb, hasFTB := strings.Cut(t[1:], "-")
	if len(code) != 4 || code[0] < '0' || code[0] > '3' || (hasFTB && len(ftb) != 2) {
		return 0, bad
	}
	digits, err := strconv.ParseUint(code, 16, 16)
	if err != nil {
		return 0, bad
	}
	var fail uint64
	if hasFTB {
		if fail, err = strconv.ParseUint(ftb, 16, 8); err != nil {
			return 0, bad
		}
	}
	return uint32(letter)<<22 | uint32(digits)<<8 | uint32(fail), nil
}

// DTC report types of service 19 that ecufleet uses.
const (
	// ReportNumberOfDTCByStatusMask is 19 01: how many DTCs match a status mask.
	ReportNumberOfDTCByStatusMask byte = 0x01
	// ReportDTCByStatusMask is 19 02: the DTCs that match a status mask.
	ReportDTCByStatusMask byte = 0x02
)

// DTCFormatISO14229 is the DTC format identifier 19 01 reports for ISO 14229-1 DTCs.
const DTCFormatISO14229 byte = 0x01

// ReadDTCCount builds 19 01 <mask>.
func ReadDTCCount(mask byte) []byte {
	return []byte{byte(SIDReadDTCInformation), ReportNumberOfDTCByStatusMask, mask}
}

// ReadDTCByStatus builds 19 02 <mask>.
func ReadDTCByStatus(mask byte) []byte {
	return []byte{byte(SIDReadDTCInformation), ReportDTCByStatusMask, mask}
}

// DTCCount is the answer to 19 01.
type DTCCount struct {
	// AvailabilityMask is the set of status bits the ECU supports.
	AvailabilityMask byte
	// Format is the DTC format identifier (0x01 ISO 14229-1).
	Format byte
	// Count is the number of DTCs matching the mask.
	Count uint16
}

// ParseDTCCount decodes 59 01 <availability mask> <format> <count (2)>.
func ParseDTCCount(resp []byte) (DTCCount, error) {
	rest, err := checkPositive(resp, SIDReadDTCInformation, ReportNumberOfDTCByStatusMask)
	if err != nil {
		return DTCCount{}, err
	}
	if len(rest) != 4 {
		return DTCCount{}, &ResponseError{SID: SIDReadDTCInformation, Response: resp,
			Reason: "19 01 response must be 59 01 mask format count(2)"}
	}
	return DTCCount{AvailabilityMask: rest[0], Format: rest[1], Count: binary.BigEndian.Uint16(rest[2:])}, nil
}

// DTCList is the answer to 19 02.
type DTCList struct {
	// AvailabilityMask is the set of status bits the ECU supports.
	AvailabilityMask byte
	// DTCs are the matching codes in the order the ECU sent them.
	DTCs []DTC
}

// ParseDTCList decodes 59 02 <availability mask> {DTC(3) status(1)}*.
func ParseDTCList(resp []byte) (DTCList, error) {
	rest, err := checkPositive(resp, SIDReadDTCInformation, ReportDTCByStatusMask)
	if err != nil {
		return DTCList{}, err
	}
	if len(rest) == 0 || (len(rest)-1)%4 != 0 {
		return DTCList{}, &ResponseError{SID: SIDReadDTCInformation, Response: resp,
			Reason: "19 02 response must be 59 02 mask then 4-byte DTC records"}
	}
	l := DTCList{AvailabilityMask: rest[0], DTCs: make([]DTC, 0, (len(rest)-1)/4)}
	for r := rest[1:]; len(r) > 0; r = r[4:] {
		l.DTCs = append(l.DTCs, DTC{Code: uint32(r[0])<<16 | uint32(r[1])<<8 | uint32(r[2]), Status: r[3]})
	}
	return l, nil
}

// String lists the DTCs as "P0123-00 status 0x2F, U0100-00 status 0x09", or "no DTCs".
func (l DTCList) String() string {
	if len(l.DTCs) == 0 {
		return "no DTCs"
	}
	parts := make([]string, len(l.DTCs))
	for i, d := range l.DTCs {
		parts[i] = d.String()
	}
	return strings.Join(parts, ", ")
}

// GroupAllDTCs is the clear diagnostic information group that erases every DTC.
const GroupAllDTCs uint32 = 0xFFFFFF

// ClearDiagnosticInformation builds 14 <group (3)>.
func ClearDiagnosticInformation(group uint32) ([]byte, error) {
	if group > GroupAllDTCs {
		return nil, &ArgumentError{Name: fmt.Sprintf("DTC group 0x%X", group), Reason: "a group is 3 bytes (0x000000..0xFFFFFF; 0xFFFFFF is all)"}
	}
	return []byte{byte(SIDClearDiagnosticInformation), byte(group >> 16), byte(group >> 8), byte(group)}, nil
}

// ParseClearDiagnosticInformation checks 54.
func ParseClearDiagnosticInformation(resp []byte) error {
	rest, err := checkPositive(resp, SIDClearDiagnosticInformation)
	if err != nil {
		return err
	}
	return checkEnd(rest, resp, SIDClearDiagnosticInformation)
}
