package ecusim

import (
	"fmt"
	"os"

	"github.com/go-logr/logr"
	"sigs.k8s.io/yaml"
)

// Config describes a simulated DoIP entity and the ECUs behind it. Its field names are the
// YAML keys (see docs/ecusim.md); zero values take the documented defaults, so an empty Config
// is a working ECU at 0x00E0 on 127.0.0.1:13400.
type Config struct {
	// Listen is the TCP and UDP host:port (default 127.0.0.1:13400; port 0 picks a free one).
	Listen string `json:"listen,omitempty"`
	// LogicalAddress is the entity's (gateway's) logical address and that of its own ECU (default 0x00E0).
	LogicalAddress uint16 `json:"logicalAddress,omitempty"`
	// VIN is the 17-character vehicle identification number (default ECUFLEETSIM000001).
	VIN string `json:"vin,omitempty"`
	// EID is the 6-byte entity identification (default 02 00 00 00 and the logical address).
	EID Hex `json:"eid,omitempty"`
	// GID is the 6-byte group identification (default: the EID).
	GID Hex `json:"gid,omitempty"`
	// Negative makes every ECU answer every request with 7F SID 22 (a failing ECU).
	Negative bool `json:"negative,omitempty"`
	// BootTime is how long routing activation is refused after an ECU reset (default 1s).
	BootTime string `json:"bootTime,omitempty"`
	// MaxSockets is the number of concurrent tester sockets (default 4).
	MaxSockets int `json:"maxSockets,omitempty"`
	// Announce configures the vehicle announcements sent after start.
	Announce Announce `json:"announce,omitempty"`
	// DenyActivation refuses routing activations, to test a tester's handling of denials.
	DenyActivation *ActivationDenial `json:"denyActivation,omitempty"`
	// UDS is the behaviour of the entity's own ECU (at LogicalAddress).
	UDS `json:",inline"`
	// ECUs are further ECUs behind the same gateway, each with its own logical address.
	ECUs []ECU `json:"ecus,omitempty"`
	// Logger receives the simulator's logs; it is not part of the YAML.
	Logger logr.Logger `json:"-"`
}

// Announce configures vehicle announcements (0x0004) after start, as an entity sends on power-up.
type Announce struct {
	// Count is how many to send; 0 sends none.
	Count int `json:"count,omitempty"`
	// Interval is the pause between two (default 500ms).
	Interval string `json:"interval,omitempty"`
	// To is the destination host:port (default 255.255.255.255:13400).
	To string `json:"to,omitempty"`
}

// ActivationDenial answers routing activation with a denial code, for the first attempts or always.
type ActivationDenial struct {
	// Code is the routing activation response code to deny with (required, not 0x10 or 0x11).
	Code *uint8 `json:"code,omitempty"`
	// First denies this many attempts (counted from start), then accepts.
	First int `json:"first,omitempty"`
	// Always denies every attempt.
	Always bool `json:"always,omitempty"`
}

// ECU is one more ECU behind the gateway.
type ECU struct {
	// LogicalAddress is this ECU's address (required, unique, outside the tester range).
	LogicalAddress uint16 `json:"logicalAddress"`
	// UDS is this ECU's behaviour.
	UDS `json:",inline"`
}

// UDS is the scripted behaviour of one ECU.
type UDS struct {
	// DIDs are added to (or replace entries of) the default DID table, keyed by DID ("0xF190").
	DIDs map[string]DID `json:"dids,omitempty"`
	// DTCs replace the default fault memory when set (an empty list means no DTCs).
	DTCs []DTC `json:"dtcs,omitempty"`
	// Routines replace the default routine table when set, keyed by routine id ("0xFF01").
	Routines map[string]Routine `json:"routines,omitempty"`
	// Security configures security access (default: level 1, fixed seed, xor key).
	Security *Security `json:"security,omitempty"`
	// ResponsePending sends 7F SID 78 before the final answer of matching requests.
	ResponsePending []PendingRule `json:"responsePending,omitempty"`
	// Delays hold back the answer to matching requests.
	Delays []DelayRule `json:"delays,omitempty"`
	// P2 is the P2 server time reported in session control responses (default 50ms).
	P2 string `json:"p2,omitempty"`
	// P2Star is the P2* server time reported in session control responses (default 5s).
	P2Star string `json:"p2Star,omitempty"`
	// S3 is how long a non-default session survives without requests (default 5s).
	S3 string `json:"s3,omitempty"`
	// Memory is the flash that 34/36/37, 23 and the erase routine address (default: one
	// region of 16 MiB at 0x00000000).
	Memory []MemoryRegion `json:"memory,omitempty"`
	// Flash configures the download services and the erase and check routines.
	Flash Flash `json:"flash,omitempty"`
}

// DID is one data identifier: its initial value as text or hex, and whether 2E may change it.
type DID struct {
	// Text is the value as ASCII.
	Text *string `json:"text,omitempty"`
	// Hex is the value as hex bytes (exactly one of Text and Hex).
	Hex *Hex `json:"hex,omitempty"`
	// Writable lets 2E overwrite the value (same length) in a non-default session.
	Writable bool `json:"writable,omitempty"`
	// Protected requires security access to be unlocked for 2E.
	Protected bool `json:"protected,omitempty"`
}

// DTC is one stored trouble code.
type DTC struct {
	// Code is "P0123-00", "P0123" or a 3-byte integer as a string ("0x012300").
	Code string `json:"code"`
	// Status is the ISO 14229-1 status byte.
	Status uint8 `json:"status"`
}

// Routine is one routine control routine: the status record answered per control type; an
// absent type is not supported (7F 31 12).
type Routine struct {
	// Start is the status record of 31 01 (hex, may be empty).
	Start *Hex `json:"start,omitempty"`
	// Stop is the status record of 31 02.
	Stop *Hex `json:"stop,omitempty"`
	// Results is the status record of 31 03.
	Results *Hex `json:"results,omitempty"`
}

// Security configures security access (27): which seed levels exist, the seed, and how the
// expected key is computed from it.
type Security struct {
	// Levels are the odd requestSeed levels (default [1]); each key level is level+1.
	Levels []int `json:"levels,omitempty"`
	// Seed is the seed sent (default "11 22 33 44"); fixed so jobs can hold a static key.
	Seed Hex `json:"seed,omitempty"`
	// Algorithm is xor (seed XOR constant, repeated), add (seed + constant as big-endian
	// integers of the seed's length) or fixed (the key is the constant). Default xor.
	Algorithm string `json:"algorithm,omitempty"`
	// Constant is the algorithm's operand (default "5A 5A 5A 5A").
	Constant Hex `json:"constant,omitempty"`
	// MaxAttempts is how many wrong keys are allowed before 36 and the lockout (default 3).
	MaxAttempts int `json:"maxAttempts,omitempty"`
	// Lockout is how long seed requests get 37 after too many wrong keys (default 10s).
	Lockout string `json:"lockout,omitempty"`
}

// PendingRule sends Count response pending answers, Interval apart, before the final answer
// to every request starting with Request.
type PendingRule struct {
	// Request is a hex prefix of the request ("31 01 FF 00"); empty matches every request.
	Request Hex `json:"request"`
	// Count is the number of 7F SID 78 answers (1..1000).
	Count int `json:"count"`
	// Interval is the time between two of them and before the final answer (default 500ms).
	Interval string `json:"interval,omitempty"`
}

// DelayRule holds back every answer to requests starting with Request.
type DelayRule struct {
	// Request is a hex prefix of the request; empty matches every request.
	Request Hex `json:"request"`
	// Delay is the extra time before the first answer.
	Delay string `json:"delay"`
}

// LoadConfig reads a YAML config file. Unknown keys and wrong types are errors naming the
// field; values are checked by New.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read ecusim config: %w", err)
	}
	return ParseConfig(b, path)
}

// ParseConfig decodes YAML config bytes; name (a file name) prefixes errors.
func ParseConfig(b []byte, name string) (Config, error) {
	var c Config
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		return Config{}, fmt.Errorf("ecusim config %s: %w", name, err)
	}
	return c, nil
}
