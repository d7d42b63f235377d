package uds

import (
	"encoding/binary"
	"time"
)

// Session is a diagnostic session; services such as write and routine control are only
// allowed outside the default one.
type Session byte

// Diagnostic sessions of ISO 14229-1.
const (
	// SessionDefault is the session an ECU starts in and returns to on timeout or reset.
	SessionDefault Session = 0x01
	// SessionProgramming allows flashing.
	SessionProgramming Session = 0x02
	// SessionExtended allows writes, routines and security access.
	SessionExtended Session = 0x03
	// SessionSafety is the safety system diagnostic session.
	SessionSafety Session = 0x04
)

var sessionNames = namedSet{
	{"default", byte(SessionDefault)},
	{"programming", byte(SessionProgramming)},
	{"extended", byte(SessionExtended)},
	{"safety", byte(SessionSafety)},
}

// ParseSession reads a session as job specs write it: default, programming, extended, safety,
// or a number 1..0x7F.
func ParseSession(s string) (Session, error) {
	v, err := sessionNames.parse("session", s, 0x7F)
	return Session(v), err
}

// String names the session for tables and logs.
func (s Session) String() string { return sessionNames.name(byte(s)) }

// SessionControl builds 10 <session>.
func SessionControl(s Session) []byte {
	return []byte{byte(SIDDiagnosticSessionControl), byte(s)}
}

// SessionTiming is what a session control response tells the tester: the new session and the
// ECU's P2 and P2* server times, which bound how long the tester waits for answers.
type SessionTiming struct {
	// Session is the session the ECU switched to.
	Session Session
	// P2 is the ECU's P2 server time: its maximum time to a first answer.
	P2 time.Duration
	// P2Star is the ECU's P2* server time: its maximum time after a response pending.
	P2Star time.Duration
	// HasTiming is false for an ECU that answered with the 2-byte response of ISO 14229-1:2006.
	HasTiming bool
}

// ParseSessionControl decodes 50 <session> <P2 ms (2)> <P2* x10 ms (2)>.
func ParseSessionControl(resp []byte, s Session) (SessionTiming, error) {
	rest, err := checkPositive(resp, SIDDiagnosticSessionControl, byte(s)&^SuppressPositiveResponse)
	if err != nil {
		return SessionTiming{}, err
	}
	t := SessionTiming{Session: s}
	switch len(rest) {
	case 0:
		return t, nil
	case 4:
		t.P2 = time.Duration(binary.BigEndian.Uint16(rest)) * time.Millisecond
		t.P2Star = time.Duration(binary.BigEndian.Uint16(rest[2:])) * 10 * time.Millisecond
		t.HasTiming = true
		return t, nil
	}
	return SessionTiming{}, &ResponseError{SID: SIDDiagnosticSessionControl, Response: resp,
		Reason: "session parameter record must be 4 bytes (P2, P2*)"}
}

// SessionControlResponse builds 50 <session> <P2> <P2*>, the answer a simulated ECU gives;
// P2 is rounded down to ms and P2* to 10 ms as the wire format requires.
func SessionControlResponse(s Session, p2, p2Star time.Duration) []byte {
	b := []byte{byte(SIDDiagnosticSessionControl) + PositiveResponseOffset, byte(s), 0, 0, 0, 0}
	binary.BigEndian.PutUint16(b[2:], units16(p2, time.Millisecond))
	binary.BigEndian.PutUint16(b[4:], units16(p2Star, 10*time.Millisecond))
	return b
}

// units16 expresses d in units, clamped to the 16-bit wire field.
func units16(d, unit time.Duration) uint16 {
	return uint16(min(max(d/unit, 0), 0xFFFF))
}
