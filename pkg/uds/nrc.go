package uds

import "fmt"

// NRC is a negative response code: the ECU's reason for refusing a request. Jobs expect
// specific NRCs, so each has its ISO 14229-1 name.
type NRC byte

// Negative response codes of ISO 14229-1:2020 Table A.1 that testers react to.
const (
	// NRCGeneralReject refuses without a more specific reason.
	NRCGeneralReject NRC = 0x10
	// NRCServiceNotSupported means the ECU does not implement the service.
	NRCServiceNotSupported NRC = 0x11
	// NRCSubFunctionNotSupported means the service exists but not this sub-function.
	NRCSubFunctionNotSupported NRC = 0x12
	// NRCIncorrectMessageLength means the request length or format is wrong.
	NRCIncorrectMessageLength NRC = 0x13
	// NRCBusyRepeatRequest asks the tester to send the same request again later.
	NRCBusyRepeatRequest NRC = 0x21
	// NRCConditionsNotCorrect refuses because of the ECU's state.
	NRCConditionsNotCorrect NRC = 0x22
	// NRCRequestSequenceError refuses a request that came out of order (e.g. a key before a seed).
	NRCRequestSequenceError NRC = 0x24
	// NRCRequestOutOfRange refuses a parameter such as an unknown DID.
	NRCRequestOutOfRange NRC = 0x31
	// NRCSecurityAccessDenied refuses a protected service while locked.
	NRCSecurityAccessDenied NRC = 0x33
	// NRCInvalidKey refuses a wrong security access key.
	NRCInvalidKey NRC = 0x35
	// NRCExceededNumberOfAttempts refuses after too many wrong keys.
	NRCExceededNumberOfAttempts NRC = 0x36
	// NRCRequiredTimeDelayNotExpired refuses security access during the lockout delay.
	NRCRequiredTimeDelayNotExpired NRC = 0x37
	// NRCResponsePending says the final answer will come later: wait P2* instead of P2.
	NRCResponsePending NRC = 0x78
	// NRCSubFunctionNotSupportedInActiveSession refuses a sub-function in this session.
	NRCSubFunctionNotSupportedInActiveSession NRC = 0x7E
	// NRCServiceNotSupportedInActiveSession refuses a service in this session.
	NRCServiceNotSupportedInActiveSession NRC = 0x7F
)

// nrcNames holds the ISO 14229-1:2020 Table A.1 name of every defined code.
var nrcNames = [256]string{
	0x00: "positiveResponse",
	0x10: "generalReject",
	0x11: "serviceNotSupported",
	0x12: "subFunctionNotSupported",
	0x13: "incorrectMessageLengthOrInvalidFormat",
	0x14: "responseTooLong",
	0x21: "busyRepeatRequest",
	0x22: "conditionsNotCorrect",
	0x24: "requestSequenceError",
	0x25: "noResponseFromSubnetComponent",
	0x26: "failurePreventsExecutionOfRequestedAction",
	0x31: "requestOutOfRange",
	0x33: "securityAccessDenied",
	0x34: "authenticationRequired",
	0x35: "invalidKey",
	0x36: "exceededNumberOfAttempts",
	0x37: "requiredTimeDelayNotExpired",
	0x50: "certificateVerificationFailedInvalidTimePeriod",
	0x51: "certificateVerificationFailedInvalidSignature",
	0x52: "certificateVerificationFailedInvalidChainOfTrust",
	0x53: "certificateVerificationFailedInvalidType",
	0x54: "certificateVerificationFailedInvalidFormat",
	0x55: "certificateVerificationFailedInvalidContent",
	0x56: "certificateVerificationFailedInvalidScope",
	0x57: "certificateVerificationFailedInvalidCertificate",
	0x58: "ownershipVerificationFailed",
	0x59: "challengeCalculationFailed",
	0x5A: "settingAccessRightsFailed",
	0x5B: "sessionKeyCreationDerivationFailed",
	0x5C: "configurationDataUsageFailed",
	0x5D: "deAuthenticationFailed",
	0x70: "uploadDownloadNotAccepted",
	0x71: "transferDataSuspended",
	0x72: "generalProgrammingFailure",
	0x73: "wrongBlockSequenceCounter",
	0x78: "requestCorrectlyReceivedResponsePending",
	0x7E: "subFunctionNotSupportedInActiveSession",
	0x7F: "serviceNotSupportedInActiveSession",
	0x81: "rpmTooHigh",
	0x82: "rpmTooLow",
	0x83: "engineIsRunning",
	0x84: "engineIsNotRunning",
	0x85: "engineRunTimeTooLow",
	0x86: "temperatureTooHigh",
	0x87: "temperatureTooLow",
	0x88: "vehicleSpeedTooHigh",
	0x89: "vehicleSpeedTooLow",
	0x8A: "throttlePedalTooHigh",
	0x8B: "throttlePedalTooLow",
	0x8C: "transmissionRangeNotInNeutral",
	0x8D: "transmissionRangeNotInGear",
	0x8F: "brakeSwitchesNotClosed",
	0x90: "shifterLeverNotInPark",
	0x91: "torqueConverterClutchLocked",
	0x92: "voltageTooHigh",
	0x93: "voltageTooLow",
	0x94: "resourceTemporarilyNotAvailable",
}

// String returns the ISO name of the code; codes without one get the name of the ISO range
// they fall in, so the text is stable across releases.
func (n NRC) String() string {
	if name := nrcNames[n]; name != "" {
		return name
	}
	switch {
	case n >= 0x38 && n <= 0x4F:
		return "reservedByExtendedDataLinkSecurityDocument"
	case n >= 0x95 && n <= 0xEF:
		return "reservedForSpecificConditionsNotCorrect"
	case n >= 0xF0 && n <= 0xFE:
		return "vehicleManufacturerSpecificConditionsNotCorrect"
	}
	return "isoSAEReserved"
}

// FormatNRC renders a code as "0x31 requestOutOfRange", the form stored in job results so a
// reader sees both the number to grep for and its meaning.
func FormatNRC(code byte) string {
	return fmt.Sprintf("0x%02X %s", code, NRC(code))
}
