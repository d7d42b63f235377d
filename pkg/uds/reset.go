package uds

// ResetType is the ECU reset sub-function.
type ResetType byte

// Reset types of ISO 14229-1 that job specs name.
const (
	// ResetHard simulates a power cycle.
	ResetHard ResetType = 0x01
	// ResetKeyOffOn simulates turning the ignition key off and on.
	ResetKeyOffOn ResetType = 0x02
	// ResetSoft restarts the application only.
	ResetSoft ResetType = 0x03
)

var resetNames = namedSet{
	{"hard", byte(ResetHard)},
	{"keyOffOn", byte(ResetKeyOffOn)},
	{"soft", byte(ResetSoft)},
}

// ParseResetType reads a reset type as job specs write it: hard, keyOffOn, soft or a number.
func ParseResetType(s string) (ResetType, error) {
	v, err := resetNames.parse("reset type", s, 0x7F)
	return ResetType(v), err
}

// String names the reset type for tables and logs.
func (t ResetType) String() string { return resetNames.name(byte(t)) }

// ECUReset builds 11 <type>.
func ECUReset(t ResetType) []byte {
	return []byte{byte(SIDECUReset), byte(t)}
}

// ParseECUReset checks 51 <type> [power down time]; the one optional byte is the power down
// time an ECU adds for enableRapidPowerShutDown.
func ParseECUReset(resp []byte, t ResetType) error {
	rest, err := checkPositive(resp, SIDECUReset, byte(t)&^SuppressPositiveResponse)
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		return &ResponseError{SID: SIDECUReset, Response: resp, Reason: "more than one byte after the reset type"}
	}
	return nil
}
