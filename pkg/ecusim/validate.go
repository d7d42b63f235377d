package ecusim

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/ecufleet/ecufleet/pkg/doip"
)

// FieldError is an invalid config value; Field is its YAML path (e.g. ecus[0].dids[0xF190].hex)
// so the message points at the line to fix.
type FieldError struct {
	// Field is the YAML path of the bad value.
	Field string
	// Err says what is wrong and what is accepted.
	Err error
}

// Error names the field and what is wrong with it.
func (e *FieldError) Error() string { return fmt.Sprintf("ecusim config: %s: %v", e.Field, e.Err) }

// Unwrap exposes the cause.
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Defaults of the simulator, documented in docs/ecusim.md; exported so the command line shows
// the same defaults as the config file.
const (
	// DefaultListen keeps a simulator off the network unless asked otherwise.
	DefaultListen = "127.0.0.1:13400"
	// DefaultLogicalAddress is the address the design's examples use for a simulated ECU.
	DefaultLogicalAddress = 0x00E0
	// DefaultVIN is a valid 17-character VIN that is obviously not a real vehicle's.
	DefaultVIN = "ECUFLEETSIM000001"
	// DefaultBootTime is how long a reset keeps the ECU unreachable, like a real restart.
	DefaultBootTime = time.Second
	// DefaultP2 is the P2 server time reported by session control (ISO 14229-2 default).
	DefaultP2 = 50 * time.Millisecond
	// DefaultP2Star is the P2* server time reported by session control (ISO 14229-2 default).
	DefaultP2Star = 5 * time.Second
	// DefaultS3 is the S3 server timer after which a silent non-default session ends.
	DefaultS3 = 5 * time.Second
	// DefaultPendingGap is the time between two response pending answers of a rule.
	DefaultPendingGap = 500 * time.Millisecond
	// DefaultLockout is how long security access stays blocked after too many wrong keys.
	DefaultLockout = 10 * time.Second
	// DefaultMaxAttempts is how many wrong keys lock security access.
	DefaultMaxAttempts = 3
	// maxPendingCount bounds a response pending rule so a config cannot make a handler loop forever.
	maxPendingCount = 1000
)

// settings is a validated Config.
type settings struct {
	listen     string
	address    uint16
	vin        [17]byte
	eid, gid   [6]byte
	negative   bool
	bootTime   time.Duration
	maxSockets int
	announce   struct {
		count    int
		interval time.Duration
		to       string
	}
	deny *denial
	ecus []*ecu // the entity's own ECU first
}

// denial is a validated ActivationDenial.
type denial struct {
	code   doip.ActivationCode
	first  int
	always bool
}

// compile checks every field of c and builds the simulator's model, with defaults applied.
func compile(c Config) (*settings, error) {
	s := &settings{listen: c.Listen, address: c.LogicalAddress, negative: c.Negative, maxSockets: c.MaxSockets}
	if s.listen == "" {
		s.listen = DefaultListen
	}
	if _, _, err := net.SplitHostPort(s.listen); err != nil {
		return nil, fieldErr("listen", "want host:port such as 127.0.0.1:13400: %v", err)
	}
	if s.address == 0 {
		s.address = DefaultLogicalAddress
	}
	if err := checkECUAddress("logicalAddress", s.address); err != nil {
		return nil, err
	}
	vin := c.VIN
	if vin == "" {
		vin = DefaultVIN
	}
	if len(vin) != 17 {
		return nil, fieldErr("vin", "a VIN has 17 characters, got %d", len(vin))
	}
	for _, ch := range []byte(vin) {
		if ch < 0x20 || ch > 0x7E {
			return nil, fieldErr("vin", "only printable ASCII is allowed")
		}
	}
	copy(s.vin[:], vin)
	s.eid = [6]byte{0x02, 0, 0, 0, byte(s.address >> 8), byte(s.address)}
	if err := fixed6("eid", c.EID, &s.eid); err != nil {
		return nil, err
	}
	s.gid = s.eid
	if err := fixed6("gid", c.GID, &s.gid); err != nil {
		return nil, err
	}
	var err error
	if s.bootTime, err = duration("bootTime", c.BootTime, DefaultBootTime); err != nil {
		return nil, err
	}
	if s.maxSockets < 0 || s.maxSockets > 255 {
		return nil, fieldErr("maxSockets", "want 1..255 (0: default 4)")
	}
	if err := s.compileAnnounce(c.Announce); err != nil {
		return nil, err
	}
	if s.deny, err = compileDenial(c.DenyActivation); err != nil {
		return nil, err
	}

	own, err := newECU("", s.address, s.vin, c.UDS)
	if err != nil {
		return nil, err
	}
	s.ecus = []*ecu{own}
	seen := map[uint16]bool{s.address: true}
	for i, e := range c.ECUs {
		path := fmt.Sprintf("ecus[%d].", i)
		if e.LogicalAddress == 0 {
			return nil, fieldErr(path+"logicalAddress", "required")
		}
		if err := checkECUAddress(path+"logicalAddress", e.LogicalAddress); err != nil {
			return nil, err
		}
		if seen[e.LogicalAddress] {
			return nil, fieldErr(path+"logicalAddress", "0x%04X is used twice", e.LogicalAddress)
		}
		seen[e.LogicalAddress] = true
		x, err := newECU(path, e.LogicalAddress, s.vin, e.UDS)
		if err != nil {
			return nil, err
		}
		s.ecus = append(s.ecus, x)
	}
	return s, nil
}

func (s *settings) compileAnnounce(a Announce) error {
	if a.Count < 0 {
		return fieldErr("announce.count", "must not be negative")
	}
	var err error
	if s.announce.interval, err = duration("announce.interval", a.Interval, doip.DefaultAnnounceInterval); err != nil {
		return err
	}
	if a.To != "" {
		if _, _, err := net.SplitHostPort(a.To); err != nil {
			return fieldErr("announce.to", "want host:port such as 255.255.255.255:13400: %v", err)
		}
	}
	s.announce.count, s.announce.to = a.Count, a.To
	return nil
}

func compileDenial(d *ActivationDenial) (*denial, error) {
	if d == nil {
		return nil, nil
	}
	if d.Code == nil {
		return nil, fieldErr("denyActivation.code", "required: the routing activation response code to deny with, e.g. 0x06")
	}
	code := doip.ActivationCode(*d.Code)
	if code == doip.ActivationSuccess || code == doip.ActivationConfirmationRequired {
		return nil, fieldErr("denyActivation.code", "0x%02X accepts the activation; use a denial code such as 0x00..0x07", *d.Code)
	}
	if d.First < 0 || (d.First == 0 && !d.Always) {
		return nil, fieldErr("denyActivation", "set first (a number of attempts > 0) or always: true")
	}
	return &denial{code: code, first: d.First, always: d.Always}, nil
}

// checkECUAddress refuses addresses a tester or a functional group would use.
func checkECUAddress(field string, a uint16) error {
	switch {
	case a >= doip.DefaultTesterAddress && a <= doip.DefaultTesterMax:
		return fieldErr(field, "0x%04X is in the tester range 0x0E00-0x0FFF", a)
	case a >= 0xE400 && a <= 0xEFFF:
		return fieldErr(field, "0x%04X is a functional group address (0xE400-0xEFFF)", a)
	}
	return nil
}

// fixed6 decodes a 6-byte hex field into dst when set.
func fixed6(field string, h Hex, dst *[6]byte) error {
	if h == "" {
		return nil
	}
	b, err := h.bytes()
	if err != nil {
		return &FieldError{Field: field, Err: err}
	}
	if len(b) != 6 {
		return fieldErr(field, "want 6 bytes such as 00:1A:2B:3C:4D:5E, got %d", len(b))
	}
	copy(dst[:], b)
	return nil
}

// duration parses a duration field, returning def when it is empty.
func duration(field, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fieldErr(field, "want a duration such as 500ms or 2s, got %q", s)
	}
	return d, nil
}

// hexField decodes a hex field.
func hexField(field string, h Hex) ([]byte, error) {
	b, err := h.bytes()
	if err != nil {
		return nil, &FieldError{Field: field, Err: err}
	}
	return b, nil
}

// id16 parses a DID or routine id map key; YAML turns unquoted 0xF190 into the decimal 61840,
// so both forms arrive here.
func id16(field, key string) (uint16, error) {
	v, err := strconv.ParseUint(key, 0, 16)
	if err != nil {
		return 0, fieldErr(field, "key %q is not a 16-bit identifier; write it as 0xF190", key)
	}
	return uint16(v), nil
}

var errBothTextAndHex = errors.New("set exactly one of text and hex")
