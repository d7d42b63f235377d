package doip

import (
	"encoding/binary"
	"fmt"
)

// Message is every DoIP payload, so framing, Client and Server handle all types one way.
type Message interface {
	// Type is the payload type written into the header.
	Type() PayloadType
	// AppendPayload appends the payload bytes (no header) to dst.
	AppendPayload(dst []byte) []byte
	// UnmarshalPayload decodes p with strict length checks, reusing the receiver's slices.
	UnmarshalPayload(p []byte) error
}

// Marshal returns a whole frame (header and payload), for callers that send one message.
func Marshal(version byte, m Message) []byte {
	return AppendFrame(make([]byte, 0, HeaderLen+payloadSizeHint(m)), version, m)
}

// AppendFrame appends a whole frame to dst, so hot paths can reuse one buffer per socket.
func AppendFrame(dst []byte, version byte, m Message) []byte {
	start := len(dst)
	dst = Header{Version: version, Type: m.Type()}.Marshal(dst)
	dst = m.AppendPayload(dst)
	binary.BigEndian.PutUint32(dst[start+4:start+8], uint32(len(dst)-start-HeaderLen))
	return dst
}

// Unmarshal decodes one whole frame into a new message of the right type, for datagrams and
// tests; streams use Reader. The frame must be exactly header plus declared payload.
func Unmarshal(frame []byte) (Header, Message, error) {
	var h Header
	if err := h.Unmarshal(frame); err != nil {
		return h, nil, err
	}
	m, err := NewMessage(h.Type)
	if err != nil {
		return h, nil, err
	}
	if uint64(len(frame)-HeaderLen) != uint64(h.Length) {
		return h, nil, &Error{NACK: NACKInvalidLength, Close: true,
			Err: fmt.Errorf("header announces %d payload bytes but the frame carries %d", h.Length, len(frame)-HeaderLen)}
	}
	if err := m.UnmarshalPayload(frame[HeaderLen:]); err != nil {
		return h, nil, err
	}
	return h, m, nil
}

// NewMessage returns the zero message of a type, so decoders can pick the struct from a header.
func NewMessage(t PayloadType) (Message, error) {
	switch t {
	case TypeGenericNACK:
		return &GenericNACK{}, nil
	case TypeVehicleIdentificationRequest:
		return &VehicleIdentificationRequest{}, nil
	case TypeVehicleIdentificationRequestEID:
		return &VehicleIdentificationRequestEID{}, nil
	case TypeVehicleIdentificationRequestVIN:
		return &VehicleIdentificationRequestVIN{}, nil
	case TypeVehicleAnnouncement:
		return &VehicleAnnouncement{}, nil
	case TypeRoutingActivationRequest:
		return &RoutingActivationRequest{}, nil
	case TypeRoutingActivationResponse:
		return &RoutingActivationResponse{}, nil
	case TypeAliveCheckRequest:
		return &AliveCheckRequest{}, nil
	case TypeAliveCheckResponse:
		return &AliveCheckResponse{}, nil
	case TypeEntityStatusRequest:
		return &EntityStatusRequest{}, nil
	case TypeEntityStatusResponse:
		return &EntityStatusResponse{}, nil
	case TypePowerModeRequest:
		return &PowerModeRequest{}, nil
	case TypePowerModeResponse:
		return &PowerModeResponse{}, nil
	case TypeDiagnosticMessage:
		return &DiagnosticMessage{}, nil
	case TypeDiagnosticACK:
		return &DiagnosticACK{}, nil
	case TypeDiagnosticNACK:
		return &DiagnosticNACK{}, nil
	}
	return nil, checkLength(t, 0)
}

// payloadSizeHint sizes Marshal's buffer so it allocates once.
func payloadSizeHint(m Message) int {
	switch m := m.(type) {
	case *DiagnosticMessage:
		return 4 + len(m.Data)
	case *DiagnosticACK:
		return 5 + len(m.Previous)
	case *DiagnosticNACK:
		return 5 + len(m.Previous)
	}
	return 33
}

// checkPayload applies the type's length rule to a payload slice.
func checkPayload(t PayloadType, p []byte) error {
	if uint64(len(p)) > uint64(^uint32(0)) {
		return &Error{NACK: NACKMessageTooLarge, Err: fmt.Errorf("%v payload of %d bytes exceeds the 32-bit length field", t, len(p))}
	}
	return checkLength(t, uint32(len(p)))
}

// appendU16 and appendU32 write big-endian integers, the only byte order DoIP uses.
func appendU16(dst []byte, v uint16) []byte { return append(dst, byte(v>>8), byte(v)) }

func appendU32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// optionalBytes keeps a decoded optional field nil when absent and reuses dst when present.
func optionalBytes(dst, src []byte) []byte {
	if len(src) == 0 {
		return nil
	}
	return append(dst[:0], src...)
}
