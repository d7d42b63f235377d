package uds

import "fmt"

// SIDControlDTCSetting stops or resumes DTC recording, so a flash does not fill the fault
// memory with the faults it provokes.
const SIDControlDTCSetting SID = 0x85

// DTCSettingType is the 85 sub-function.
type DTCSettingType byte

// DTC setting types of ISO 14229-1.
const (
	// DTCSettingOn resumes updating DTC status bits.
	DTCSettingOn DTCSettingType = 0x01
	// DTCSettingOff freezes DTC status bits.
	DTCSettingOff DTCSettingType = 0x02
)

var dtcSettingNames = namedSet{
	{"on", byte(DTCSettingOn)},
	{"off", byte(DTCSettingOff)},
}

// ParseDTCSettingType reads on, off or a number 1..0x7F as job specs write it.
func ParseDTCSettingType(s string) (DTCSettingType, error) {
	v, err := dtcSettingNames.parse("DTC setting type", s, 0x7F)
	return DTCSettingType(v), err
}

// String names the setting type for tables and logs.
func (t DTCSettingType) String() string { return dtcSettingNames.name(byte(t)) }

// ControlDTCSetting is the 85 request.
type ControlDTCSetting struct {
	// Type is on or off (or a manufacturer value up to 0x7F).
	Type DTCSettingType
	// Record is the optional DTCSettingControlOptionRecord.
	Record []byte
	// Suppress sets the suppress-positive-response bit.
	Suppress bool
}

// MarshalBinary builds 85 <type> [record].
func (c *ControlDTCSetting) MarshalBinary() ([]byte, error) {
	if c.Type == 0 || c.Type > 0x7F {
		return nil, &ArgumentError{Name: fmt.Sprintf("DTC setting type 0x%02X", byte(c.Type)),
			Reason: "must be 0x01 (on), 0x02 (off) or another value up to 0x7F; the top bit is the suppress-positive-response flag (set Suppress)"}
	}
	sub := byte(c.Type)
	if c.Suppress {
		sub |= SuppressPositiveResponse
	}
	return append([]byte{byte(SIDControlDTCSetting), sub}, c.Record...), nil
}

// UnmarshalBinary decodes an 85 request, as a simulated ECU receives it; Record aliases req.
func (c *ControlDTCSetting) UnmarshalBinary(req []byte) error {
	if len(req) < 2 || SID(req[0]) != SIDControlDTCSetting {
		return &RequestError{SID: SIDControlDTCSetting, Reason: "want 0x85 <type> [record]"}
	}
	*c = ControlDTCSetting{Type: DTCSettingType(req[1] &^ SuppressPositiveResponse), Record: req[2:],
		Suppress: req[1]&SuppressPositiveResponse != 0}
	return nil
}

// ControlDTCSettingResponse is the C5 answer echoing the setting type.
type ControlDTCSettingResponse struct {
	// Type echoes the request's setting type.
	Type DTCSettingType
}

// MarshalBinary builds C5 <type>.
func (c *ControlDTCSettingResponse) MarshalBinary() ([]byte, error) {
	return []byte{byte(SIDControlDTCSetting) + PositiveResponseOffset, byte(c.Type)}, nil
}

// UnmarshalBinary decodes C5 <type>, tolerating trailing bytes as some ECUs send them; a 7F
// answer comes back as *NegativeResponseError.
func (c *ControlDTCSettingResponse) UnmarshalBinary(resp []byte) error {
	rest, err := checkPositive(resp, SIDControlDTCSetting)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return &ResponseError{SID: SIDControlDTCSetting, Response: resp, Reason: "no echoed setting type"}
	}
	c.Type = DTCSettingType(rest[0])
	return nil
}

// ParseControlDTCSetting checks that resp is the positive answer to an 85 of type t.
func ParseControlDTCSetting(resp []byte, t DTCSettingType) error {
	var c ControlDTCSettingResponse
	if err := c.UnmarshalBinary(resp); err != nil {
		return err
	}
	if c.Type != t {
		return &ResponseError{SID: SIDControlDTCSetting, Response: resp,
			Reason: fmt.Sprintf("echoes setting type 0x%02X, want 0x%02X", byte(c.Type), byte(t))}
	}
	return nil
}
