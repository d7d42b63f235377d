package doip

import "fmt"

// PayloadType names what a DoIP frame carries; it selects the message struct and its length rule.
type PayloadType uint16

// Payload types of ISO 13400-2.
const (
	// TypeGenericNACK rejects a frame whose header could not be processed.
	TypeGenericNACK PayloadType = 0x0000
	// TypeVehicleIdentificationRequest asks every entity to identify itself.
	TypeVehicleIdentificationRequest PayloadType = 0x0001
	// TypeVehicleIdentificationRequestEID asks only the entity with this EID.
	TypeVehicleIdentificationRequestEID PayloadType = 0x0002
	// TypeVehicleIdentificationRequestVIN asks only the entities of this vehicle.
	TypeVehicleIdentificationRequestVIN PayloadType = 0x0003
	// TypeVehicleAnnouncement is the identification answer and the unsolicited announcement.
	TypeVehicleAnnouncement PayloadType = 0x0004
	// TypeRoutingActivationRequest registers a tester address on a TCP socket.
	TypeRoutingActivationRequest PayloadType = 0x0005
	// TypeRoutingActivationResponse accepts or denies a routing activation.
	TypeRoutingActivationResponse PayloadType = 0x0006
	// TypeAliveCheckRequest asks a socket's peer to prove it is still there.
	TypeAliveCheckRequest PayloadType = 0x0007
	// TypeAliveCheckResponse proves the tester behind a socket is still there.
	TypeAliveCheckResponse PayloadType = 0x0008
	// TypeEntityStatusRequest asks an entity for its node type and socket use.
	TypeEntityStatusRequest PayloadType = 0x4001
	// TypeEntityStatusResponse reports node type, sockets and maximum data size.
	TypeEntityStatusResponse PayloadType = 0x4002
	// TypePowerModeRequest asks whether the vehicle is ready for diagnostics.
	TypePowerModeRequest PayloadType = 0x4003
	// TypePowerModeResponse reports the diagnostic power mode.
	TypePowerModeResponse PayloadType = 0x4004
	// TypeDiagnosticMessage carries UDS bytes between a tester and an ECU.
	TypeDiagnosticMessage PayloadType = 0x8001
	// TypeDiagnosticACK confirms a diagnostic message was accepted for routing.
	TypeDiagnosticACK PayloadType = 0x8002
	// TypeDiagnosticNACK refuses a diagnostic message with a reason.
	TypeDiagnosticNACK PayloadType = 0x8003
)

// payloadRule is the length rule of one payload type: exactly min, exactly alt (when alt is
// set), or at least min when open.
type payloadRule struct {
	name     string
	min, alt uint32
	hasAlt   bool
	open     bool
}

// payloadTypes lists every type ISO 13400-2 defines, for callers that walk them all.
var payloadTypes = [...]PayloadType{
	TypeGenericNACK, TypeVehicleIdentificationRequest, TypeVehicleIdentificationRequestEID,
	TypeVehicleIdentificationRequestVIN, TypeVehicleAnnouncement, TypeRoutingActivationRequest,
	TypeRoutingActivationResponse, TypeAliveCheckRequest, TypeAliveCheckResponse,
	TypeEntityStatusRequest, TypeEntityStatusResponse, TypePowerModeRequest, TypePowerModeResponse,
	TypeDiagnosticMessage, TypeDiagnosticACK, TypeDiagnosticNACK,
}

// ruleFor is the length rule of a type; a switch rather than a map keeps it off the decode
// hot path's profile.
func ruleFor(t PayloadType) (payloadRule, bool) {
	switch t {
	case TypeGenericNACK:
		return payloadRule{name: "generic NACK", min: 1}, true
	case TypeVehicleIdentificationRequest:
		return payloadRule{name: "vehicle identification request"}, true
	case TypeVehicleIdentificationRequestEID:
		return payloadRule{name: "vehicle identification request with EID", min: 6}, true
	case TypeVehicleIdentificationRequestVIN:
		return payloadRule{name: "vehicle identification request with VIN", min: 17}, true
	case TypeVehicleAnnouncement:
		return payloadRule{name: "vehicle announcement", min: 32, alt: 33, hasAlt: true}, true
	case TypeRoutingActivationRequest:
		return payloadRule{name: "routing activation request", min: 7, alt: 11, hasAlt: true}, true
	case TypeRoutingActivationResponse:
		return payloadRule{name: "routing activation response", min: 9, alt: 13, hasAlt: true}, true
	case TypeAliveCheckRequest:
		return payloadRule{name: "alive check request"}, true
	case TypeAliveCheckResponse:
		return payloadRule{name: "alive check response", min: 2}, true
	case TypeEntityStatusRequest:
		return payloadRule{name: "entity status request"}, true
	case TypeEntityStatusResponse:
		return payloadRule{name: "entity status response", min: 3, alt: 7, hasAlt: true}, true
	case TypePowerModeRequest:
		return payloadRule{name: "diagnostic power mode request"}, true
	case TypePowerModeResponse:
		return payloadRule{name: "diagnostic power mode response", min: 1}, true
	case TypeDiagnosticMessage:
		return payloadRule{name: "diagnostic message", min: 5, open: true}, true
	case TypeDiagnosticACK:
		return payloadRule{name: "diagnostic message positive ACK", min: 5, open: true}, true
	case TypeDiagnosticNACK:
		return payloadRule{name: "diagnostic message negative ACK", min: 5, open: true}, true
	}
	return payloadRule{}, false
}

// String names the payload type as ISO 13400-2 does, for logs and errors.
func (t PayloadType) String() string {
	if r, ok := ruleFor(t); ok {
		return fmt.Sprintf("%s (0x%04X)", r.name, uint16(t))
	}
	return fmt.Sprintf("unknown payload type 0x%04X", uint16(t))
}

// Known reports whether this package can decode the type, so servers can answer NACK 0x01.
func (t PayloadType) Known() bool {
	_, ok := ruleFor(t)
	return ok
}

// identification reports whether the type may carry VersionDefault (0xFF).
func (t PayloadType) identification() bool {
	return t >= TypeVehicleIdentificationRequest && t <= TypeVehicleIdentificationRequestVIN
}

// checkLength enforces the type's payload length rule; a mismatch is generic NACK 0x04 and close.
func checkLength(t PayloadType, n uint32) error {
	r, ok := ruleFor(t)
	if !ok {
		return unknownTypeError(t)
	}
	if n == r.min || (r.hasAlt && n == r.alt) || (r.open && n > r.min) {
		return nil
	}
	return lengthError(r, n)
}

// unknownTypeError is checkLength's refusal of a type ISO 13400-2 does not define.
func unknownTypeError(t PayloadType) error {
	return &Error{NACK: NACKUnknownPayloadType, Err: fmt.Errorf("payload type 0x%04X is not defined by ISO 13400-2", uint16(t))}
}

// lengthError is checkLength's refusal, built apart so that the check every frame passes
// stays small (its formatting made each call set up a large stack frame).
func lengthError(r payloadRule, n uint32) error {
	want := fmt.Sprintf("%d", r.min)
	switch {
	case r.hasAlt:
		want = fmt.Sprintf("%d or %d", r.min, r.alt)
	case r.open:
		want = fmt.Sprintf("at least %d", r.min)
	}
	return &Error{NACK: NACKInvalidLength, Close: true,
		Err: fmt.Errorf("%s payload is %d bytes, want %s", r.name, n, want)}
}
