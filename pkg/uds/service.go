package uds

import "fmt"

// SID is a UDS service identifier; it names the service in errors and matches a response to
// its request.
type SID byte

// Service identifiers used by ecufleet.
const (
	// SIDDiagnosticSessionControl switches the diagnostic session and reports its timing.
	SIDDiagnosticSessionControl SID = 0x10
	// SIDECUReset restarts the ECU.
	SIDECUReset SID = 0x11
	// SIDClearDiagnosticInformation erases stored DTCs.
	SIDClearDiagnosticInformation SID = 0x14
	// SIDReadDTCInformation reads the fault memory.
	SIDReadDTCInformation SID = 0x19
	// SIDReadDataByIdentifier reads a data identifier (DID) such as the VIN.
	SIDReadDataByIdentifier SID = 0x22
	// SIDSecurityAccess unlocks protected services with a seed and key exchange.
	SIDSecurityAccess SID = 0x27
	// SIDWriteDataByIdentifier writes a data identifier.
	SIDWriteDataByIdentifier SID = 0x2E
	// SIDRoutineControl starts, stops or polls an ECU routine.
	SIDRoutineControl SID = 0x31
	// SIDTesterPresent keeps a non-default session open.
	SIDTesterPresent SID = 0x3E
	// SIDNegativeResponse is the first byte of every negative response (7F SID NRC).
	SIDNegativeResponse SID = 0x7F
)

// PositiveResponseOffset is added to a request SID to form its positive response SID.
const PositiveResponseOffset = 0x40

// SuppressPositiveResponse is the sub-function bit that asks the ECU not to answer positively.
const SuppressPositiveResponse = 0x80

// serviceNames are the ISO 14229-1 names of the services, for errors and tables.
var serviceNames = map[SID]string{
	0x10: "diagnosticSessionControl",
	0x11: "ecuReset",
	0x14: "clearDiagnosticInformation",
	0x19: "readDTCInformation",
	0x22: "readDataByIdentifier",
	0x23: "readMemoryByAddress",
	0x24: "readScalingDataByIdentifier",
	0x27: "securityAccess",
	0x28: "communicationControl",
	0x29: "authentication",
	0x2A: "readDataByPeriodicIdentifier",
	0x2C: "dynamicallyDefineDataIdentifier",
	0x2E: "writeDataByIdentifier",
	0x2F: "inputOutputControlByIdentifier",
	0x31: "routineControl",
	0x34: "requestDownload",
	0x35: "requestUpload",
	0x36: "transferData",
	0x37: "requestTransferExit",
	0x38: "requestFileTransfer",
	0x3D: "writeMemoryByAddress",
	0x3E: "testerPresent",
	0x83: "accessTimingParameter",
	0x84: "securedDataTransmission",
	0x85: "controlDTCSetting",
	0x86: "responseOnEvent",
	0x87: "linkControl",
}

// String names the service ("0x22 readDataByIdentifier") so errors say what was asked.
func (s SID) String() string {
	if n, ok := serviceNames[s]; ok {
		return fmt.Sprintf("0x%02X %s", byte(s), n)
	}
	return fmt.Sprintf("0x%02X", byte(s))
}

// HasSubFunction reports whether the service's second byte is a sub-function, which is where
// the suppress-positive-response bit lives.
func (s SID) HasSubFunction() bool {
	switch s {
	case 0x10, 0x11, 0x19, 0x27, 0x28, 0x29, 0x31, 0x3E, 0x83, 0x85, 0x86, 0x87:
		return true
	}
	return false
}

// SuppressesPositiveResponse reports whether req asks the ECU to stay silent on success, so a
// tester knows not to wait for an answer.
func SuppressesPositiveResponse(req []byte) bool {
	return len(req) >= 2 && SID(req[0]).HasSubFunction() && req[1]&SuppressPositiveResponse != 0
}
