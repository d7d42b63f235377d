package uds

// RoutineControlType is the routine control sub-function.
type RoutineControlType byte

// Routine control types of ISO 14229-1.
const (
	// RoutineStart starts a routine.
	RoutineStart RoutineControlType = 0x01
	// RoutineStop stops a running routine.
	RoutineStop RoutineControlType = 0x02
	// RoutineResults asks for a routine's results.
	RoutineResults RoutineControlType = 0x03
)

var routineNames = namedSet{
	{"start", byte(RoutineStart)},
	{"stop", byte(RoutineStop)},
	{"results", byte(RoutineResults)},
}

// ParseRoutineControlType reads start, stop or results (or 1..3) as job specs write them.
func ParseRoutineControlType(s string) (RoutineControlType, error) {
	v, err := routineNames.parse("routine control type", s, byte(RoutineResults))
	return RoutineControlType(v), err
}

// String names the routine control type for tables and logs.
func (t RoutineControlType) String() string { return routineNames.name(byte(t)) }

// RoutineControl builds 31 <type> <routine id (2)> [option record].
func RoutineControl(t RoutineControlType, id uint16, data []byte) []byte {
	b := make([]byte, 0, 4+len(data))
	b = append(b, byte(SIDRoutineControl), byte(t), byte(id>>8), byte(id))
	return append(b, data...)
}

// ParseRoutineControl checks 71 <type> <routine id> and returns the status record after it.
func ParseRoutineControl(resp []byte, t RoutineControlType, id uint16) ([]byte, error) {
	return checkPositive(resp, SIDRoutineControl, byte(t)&^SuppressPositiveResponse, byte(id>>8), byte(id))
}
