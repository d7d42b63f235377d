package doip

import "time"

// Ports fixed by ISO 13400-2, so callers can dial an entity without configuring one.
const (
	// Port is the UDP and TCP port of every DoIP entity.
	Port = 13400
	// TLSPort is the TCP port of the TLS-secured DoIP socket (ISO 13400-2:2019).
	TLSPort = 3496
)

// Protocol versions, carried in every header so both sides know which edition of the standard
// the peer speaks.
const (
	// Version2010 is ISO 13400-2:2010.
	Version2010 byte = 0x01
	// Version2012 is ISO 13400-2:2012, the version most entities in the field speak.
	Version2012 byte = 0x02
	// Version2019 is ISO 13400-2:2019.
	Version2019 byte = 0x03
	// Version2019Amd1 is ISO 13400-2:2019/Amd1.
	Version2019Amd1 byte = 0x04
	// VersionDefault lets a tester that does not know the entity's version still identify it;
	// it is valid on vehicle identification requests only.
	VersionDefault byte = 0xFF
)

// ISO 13400-2 timer values, used as defaults wherever a timeout field is zero.
const (
	// DefaultControlTimeout is A_DoIP_Ctrl: how long a tester waits for a control answer.
	DefaultControlTimeout = 2 * time.Second
	// DefaultAckTimeout is how long a tester waits for the diagnostic message ACK.
	DefaultAckTimeout = 2 * time.Second
	// DefaultInitialInactivity is T_TCP_Initial_Inactivity: a socket must activate routing within it.
	DefaultInitialInactivity = 2 * time.Second
	// DefaultGeneralInactivity is T_TCP_General_Inactivity: an activated socket idle this long is closed.
	DefaultGeneralInactivity = 5 * time.Minute
	// DefaultAliveCheckTimeout is T_TCP_Alive_Check: how long an entity waits for an alive check answer.
	DefaultAliveCheckTimeout = 500 * time.Millisecond
	// DefaultAnnounceInterval is A_DoIP_Announce_Interval between two vehicle announcements.
	DefaultAnnounceInterval = 500 * time.Millisecond
)

// Address and size defaults shared by Client and Server.
const (
	// DefaultTesterAddress is the first logical address of the external test equipment range.
	DefaultTesterAddress uint16 = 0x0E00
	// DefaultTesterMax is the last logical address of the external test equipment range.
	DefaultTesterMax uint16 = 0x0FFF
	// DefaultMaxPayload bounds what a framer buffers for one message when nothing else is configured.
	DefaultMaxPayload uint32 = 4 << 20
)

// HeaderLen is the size of the generic DoIP header that precedes every payload.
const HeaderLen = 8
