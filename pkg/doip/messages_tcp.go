package doip

import "encoding/binary"

// RoutingActivationRequest registers a tester address on a TCP socket; nothing else but alive
// checks is routed on a socket before it.
type RoutingActivationRequest struct {
	SourceAddress  uint16
	ActivationType byte   // 0x00 default, 0x01 WWH-OBD, 0xE0 central security
	Reserved       uint32 // ISO reserved, zero
	OEM            []byte // nil, or exactly 4 bytes of OEM-specific data
}

// Type implements Message.
func (*RoutingActivationRequest) Type() PayloadType { return TypeRoutingActivationRequest }

// AppendPayload implements Message. OEM data other than 4 bytes is cut or zero-padded to 4.
func (m *RoutingActivationRequest) AppendPayload(dst []byte) []byte {
	dst = appendU16(dst, m.SourceAddress)
	dst = append(dst, m.ActivationType)
	dst = appendU32(dst, m.Reserved)
	return appendOEM(dst, m.OEM)
}

// UnmarshalPayload implements Message.
func (m *RoutingActivationRequest) UnmarshalPayload(p []byte) error {
	if err := checkPayload(TypeRoutingActivationRequest, p); err != nil {
		return err
	}
	m.SourceAddress = binary.BigEndian.Uint16(p[0:2])
	m.ActivationType = p[2]
	m.Reserved = binary.BigEndian.Uint32(p[3:7])
	m.OEM = optionalBytes(m.OEM, p[7:])
	return nil
}

// RoutingActivationResponse accepts or denies a routing activation; a gateway may answer with
// its own EntityAddress.
type RoutingActivationResponse struct {
	TesterAddress, EntityAddress uint16
	Code                         ActivationCode
	Reserved                     uint32 // ISO reserved, zero
	OEM                          []byte // nil, or exactly 4 bytes
}

// Type implements Message.
func (*RoutingActivationResponse) Type() PayloadType { return TypeRoutingActivationResponse }

// AppendPayload implements Message. OEM data other than 4 bytes is cut or zero-padded to 4.
func (m *RoutingActivationResponse) AppendPayload(dst []byte) []byte {
	dst = appendU16(dst, m.TesterAddress)
	dst = appendU16(dst, m.EntityAddress)
	dst = append(dst, byte(m.Code))
	dst = appendU32(dst, m.Reserved)
	return appendOEM(dst, m.OEM)
}

// UnmarshalPayload implements Message.
func (m *RoutingActivationResponse) UnmarshalPayload(p []byte) error {
	if err := checkPayload(TypeRoutingActivationResponse, p); err != nil {
		return err
	}
	m.TesterAddress = binary.BigEndian.Uint16(p[0:2])
	m.EntityAddress = binary.BigEndian.Uint16(p[2:4])
	m.Code = ActivationCode(p[4])
	m.Reserved = binary.BigEndian.Uint32(p[5:9])
	m.OEM = optionalBytes(m.OEM, p[9:])
	return nil
}

// appendOEM writes the optional 4-byte OEM field so a frame never gets a length no decoder accepts.
func appendOEM(dst, oem []byte) []byte {
	if len(oem) == 0 {
		return dst
	}
	var field [4]byte
	copy(field[:], oem)
	return append(dst, field[:]...)
}

// AliveCheckRequest asks the peer of a TCP socket to prove it is still there.
type AliveCheckRequest struct{}

// Type implements Message.
func (*AliveCheckRequest) Type() PayloadType { return TypeAliveCheckRequest }

// AppendPayload implements Message.
func (*AliveCheckRequest) AppendPayload(dst []byte) []byte { return dst }

// UnmarshalPayload implements Message.
func (*AliveCheckRequest) UnmarshalPayload(p []byte) error {
	return checkPayload(TypeAliveCheckRequest, p)
}

// AliveCheckResponse proves a tester is still behind its socket.
type AliveCheckResponse struct {
	SourceAddress uint16
}

// Type implements Message.
func (*AliveCheckResponse) Type() PayloadType { return TypeAliveCheckResponse }

// AppendPayload implements Message.
func (m *AliveCheckResponse) AppendPayload(dst []byte) []byte {
	return appendU16(dst, m.SourceAddress)
}

// UnmarshalPayload implements Message.
func (m *AliveCheckResponse) UnmarshalPayload(p []byte) error {
	if err := checkPayload(TypeAliveCheckResponse, p); err != nil {
		return err
	}
	m.SourceAddress = binary.BigEndian.Uint16(p)
	return nil
}

// DiagnosticMessage carries UDS bytes between a tester and an ECU.
type DiagnosticMessage struct {
	Source, Target uint16
	Data           []byte // UDS request or response, at least 1 byte
}

// Type implements Message.
func (*DiagnosticMessage) Type() PayloadType { return TypeDiagnosticMessage }

// AppendPayload implements Message.
func (m *DiagnosticMessage) AppendPayload(dst []byte) []byte {
	dst = append(dst, byte(m.Source>>8), byte(m.Source), byte(m.Target>>8), byte(m.Target))
	return append(dst, m.Data...)
}

// UnmarshalPayload implements Message; it reuses m.Data, so decoding into a reused value does
// not allocate.
func (m *DiagnosticMessage) UnmarshalPayload(p []byte) error {
	if err := checkPayload(TypeDiagnosticMessage, p); err != nil {
		return err
	}
	data := m.Data
	m.view(p)
	m.Data = append(data[:0], m.Data...)
	return nil
}

// view decodes a checked diagnostic message payload with Data aliasing p: the Server's reader
// hands a block to an idle Handler without copying it.
func (m *DiagnosticMessage) view(p []byte) {
	m.Source = binary.BigEndian.Uint16(p[0:2])
	m.Target = binary.BigEndian.Uint16(p[2:4])
	m.Data = p[4:]
}

// DiagnosticACK confirms that a diagnostic message was accepted for routing.
type DiagnosticACK struct {
	Source, Target uint16
	Code           byte   // 0x00
	Previous       []byte // optional copy of the acknowledged request
}

// Type implements Message.
func (*DiagnosticACK) Type() PayloadType { return TypeDiagnosticACK }

// AppendPayload implements Message.
func (m *DiagnosticACK) AppendPayload(dst []byte) []byte {
	return appendAck(dst, m.Source, m.Target, m.Code, m.Previous)
}

// UnmarshalPayload implements Message.
func (m *DiagnosticACK) UnmarshalPayload(p []byte) error {
	if err := checkPayload(TypeDiagnosticACK, p); err != nil {
		return err
	}
	m.Source, m.Target, m.Code, m.Previous = decodeAck(p, m.Previous)
	return nil
}

// DiagnosticNACK refuses a diagnostic message with a reason.
type DiagnosticNACK struct {
	Source, Target uint16
	Code           DiagnosticNACKCode
	Previous       []byte // optional copy of the refused request
}

// Type implements Message.
func (*DiagnosticNACK) Type() PayloadType { return TypeDiagnosticNACK }

// AppendPayload implements Message.
func (m *DiagnosticNACK) AppendPayload(dst []byte) []byte {
	return appendAck(dst, m.Source, m.Target, byte(m.Code), m.Previous)
}

// UnmarshalPayload implements Message.
func (m *DiagnosticNACK) UnmarshalPayload(p []byte) error {
	if err := checkPayload(TypeDiagnosticNACK, p); err != nil {
		return err
	}
	var code byte
	m.Source, m.Target, code, m.Previous = decodeAck(p, m.Previous)
	m.Code = DiagnosticNACKCode(code)
	return nil
}

// appendAck and decodeAck share the layout of the positive and negative ACK.
func appendAck(dst []byte, source, target uint16, code byte, previous []byte) []byte {
	dst = append(dst, byte(source>>8), byte(source), byte(target>>8), byte(target), code)
	return append(dst, previous...)
}

func decodeAck(p, previous []byte) (source, target uint16, code byte, prev []byte) {
	return binary.BigEndian.Uint16(p[0:2]), binary.BigEndian.Uint16(p[2:4]), p[4], optionalBytes(previous, p[5:])
}
