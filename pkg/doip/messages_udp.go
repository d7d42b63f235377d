package doip

import "encoding/binary"

// GenericNACK rejects a frame whose header or length could not be processed.
type GenericNACK struct {
	Code NACKCode
}

// Type implements Message.
func (*GenericNACK) Type() PayloadType { return TypeGenericNACK }

// AppendPayload implements Message.
func (m *GenericNACK) AppendPayload(dst []byte) []byte { return append(dst, byte(m.Code)) }

// UnmarshalPayload implements Message.
func (m *GenericNACK) UnmarshalPayload(p []byte) error {
	if err := checkPayload(TypeGenericNACK, p); err != nil {
		return err
	}
	m.Code = NACKCode(p[0])
	return nil
}

// VehicleIdentificationRequest asks every entity that hears it to identify itself.
type VehicleIdentificationRequest struct{}

// Type implements Message.
func (*VehicleIdentificationRequest) Type() PayloadType { return TypeVehicleIdentificationRequest }

// AppendPayload implements Message.
func (*VehicleIdentificationRequest) AppendPayload(dst []byte) []byte { return dst }

// UnmarshalPayload implements Message.
func (*VehicleIdentificationRequest) UnmarshalPayload(p []byte) error {
	return checkPayload(TypeVehicleIdentificationRequest, p)
}

// VehicleIdentificationRequestEID asks only the entity with this EID (usually its MAC address).
type VehicleIdentificationRequestEID struct {
	EID [6]byte
}

// Type implements Message.
func (*VehicleIdentificationRequestEID) Type() PayloadType {
	return TypeVehicleIdentificationRequestEID
}

// AppendPayload implements Message.
func (m *VehicleIdentificationRequestEID) AppendPayload(dst []byte) []byte {
	return append(dst, m.EID[:]...)
}

// UnmarshalPayload implements Message.
func (m *VehicleIdentificationRequestEID) UnmarshalPayload(p []byte) error {
	if err := checkPayload(TypeVehicleIdentificationRequestEID, p); err != nil {
		return err
	}
	copy(m.EID[:], p)
	return nil
}

// VehicleIdentificationRequestVIN asks only the entities of the vehicle with this VIN.
type VehicleIdentificationRequestVIN struct {
	VIN [17]byte
}

// Type implements Message.
func (*VehicleIdentificationRequestVIN) Type() PayloadType {
	return TypeVehicleIdentificationRequestVIN
}

// AppendPayload implements Message.
func (m *VehicleIdentificationRequestVIN) AppendPayload(dst []byte) []byte {
	return append(dst, m.VIN[:]...)
}

// UnmarshalPayload implements Message.
func (m *VehicleIdentificationRequestVIN) UnmarshalPayload(p []byte) error {
	if err := checkPayload(TypeVehicleIdentificationRequestVIN, p); err != nil {
		return err
	}
	copy(m.VIN[:], p)
	return nil
}

// VehicleAnnouncement identifies an entity: sent unsolicited at start-up and as the answer to
// every vehicle identification request.
type VehicleAnnouncement struct {
	VIN            [17]byte
	LogicalAddress uint16
	EID, GID       [6]byte
	FurtherAction  byte // 0x00 none, 0x10 routing activation for central security required
	SyncStatus     byte // VIN/GID synchronisation: 0x00 synchronised, 0x10 incomplete
	HasSyncStatus  bool // SyncStatus is on the wire (33-byte payload)
}

// Type implements Message.
func (*VehicleAnnouncement) Type() PayloadType { return TypeVehicleAnnouncement }

// AppendPayload implements Message.
func (m *VehicleAnnouncement) AppendPayload(dst []byte) []byte {
	dst = append(dst, m.VIN[:]...)
	dst = appendU16(dst, m.LogicalAddress)
	dst = append(dst, m.EID[:]...)
	dst = append(dst, m.GID[:]...)
	dst = append(dst, m.FurtherAction)
	if m.HasSyncStatus {
		dst = append(dst, m.SyncStatus)
	}
	return dst
}

// UnmarshalPayload implements Message.
func (m *VehicleAnnouncement) UnmarshalPayload(p []byte) error {
	if err := checkPayload(TypeVehicleAnnouncement, p); err != nil {
		return err
	}
	copy(m.VIN[:], p[0:17])
	m.LogicalAddress = binary.BigEndian.Uint16(p[17:19])
	copy(m.EID[:], p[19:25])
	copy(m.GID[:], p[25:31])
	m.FurtherAction = p[31]
	m.HasSyncStatus = len(p) == 33
	m.SyncStatus = 0
	if m.HasSyncStatus {
		m.SyncStatus = p[32]
	}
	return nil
}

// EntityStatusRequest asks an entity how busy it is.
type EntityStatusRequest struct{}

// Type implements Message.
func (*EntityStatusRequest) Type() PayloadType { return TypeEntityStatusRequest }

// AppendPayload implements Message.
func (*EntityStatusRequest) AppendPayload(dst []byte) []byte { return dst }

// UnmarshalPayload implements Message.
func (*EntityStatusRequest) UnmarshalPayload(p []byte) error {
	return checkPayload(TypeEntityStatusRequest, p)
}

// EntityStatusResponse reports an entity's node type, its socket use and the largest logical
// request it accepts, so a tester can probe it without opening a TCP socket.
type EntityStatusResponse struct {
	NodeType       NodeType
	MaxSockets     byte
	OpenSockets    byte
	MaxDataSize    uint32
	HasMaxDataSize bool // MaxDataSize is on the wire (7-byte payload)
}

// Type implements Message.
func (*EntityStatusResponse) Type() PayloadType { return TypeEntityStatusResponse }

// AppendPayload implements Message.
func (m *EntityStatusResponse) AppendPayload(dst []byte) []byte {
	dst = append(dst, byte(m.NodeType), m.MaxSockets, m.OpenSockets)
	if m.HasMaxDataSize {
		dst = appendU32(dst, m.MaxDataSize)
	}
	return dst
}

// UnmarshalPayload implements Message.
func (m *EntityStatusResponse) UnmarshalPayload(p []byte) error {
	if err := checkPayload(TypeEntityStatusResponse, p); err != nil {
		return err
	}
	m.NodeType, m.MaxSockets, m.OpenSockets = NodeType(p[0]), p[1], p[2]
	m.HasMaxDataSize = len(p) == 7
	m.MaxDataSize = 0
	if m.HasMaxDataSize {
		m.MaxDataSize = binary.BigEndian.Uint32(p[3:7])
	}
	return nil
}

// PowerModeRequest asks whether the vehicle is ready for diagnostics.
type PowerModeRequest struct{}

// Type implements Message.
func (*PowerModeRequest) Type() PayloadType { return TypePowerModeRequest }

// AppendPayload implements Message.
func (*PowerModeRequest) AppendPayload(dst []byte) []byte { return dst }

// UnmarshalPayload implements Message.
func (*PowerModeRequest) UnmarshalPayload(p []byte) error {
	return checkPayload(TypePowerModeRequest, p)
}

// PowerModeResponse reports the diagnostic power mode.
type PowerModeResponse struct {
	Mode PowerMode
}

// Type implements Message.
func (*PowerModeResponse) Type() PayloadType { return TypePowerModeResponse }

// AppendPayload implements Message.
func (m *PowerModeResponse) AppendPayload(dst []byte) []byte { return append(dst, byte(m.Mode)) }

// UnmarshalPayload implements Message.
func (m *PowerModeResponse) UnmarshalPayload(p []byte) error {
	if err := checkPayload(TypePowerModeResponse, p); err != nil {
		return err
	}
	m.Mode = PowerMode(p[0])
	return nil
}
