package ecusim

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ecufleet/ecufleet/pkg/uds"
)

// did is one data identifier of an ECU.
type did struct {
	data      []byte
	writable  bool
	protected bool
}

// routine holds the status record per control type (index 1..3); nil means not supported.
type routine [4][]byte

// rule is a validated response pending or delay rule.
type rule struct {
	prefix   []byte
	count    int
	interval time.Duration
}

// ecu is one simulated ECU: its fixed configuration and its state, guarded by mu because
// several tester sockets may talk to it at once.
type ecu struct {
	address         uint16
	p2, p2Star, s3  time.Duration
	routines        map[uint16]routine
	security        securityConfig
	pending, delays []rule

	mu          sync.Mutex
	session     uds.Session
	lastRequest time.Time
	bootUntil   time.Time
	dids        map[uint16]*did
	dtcs        []uds.DTC
	seedLevel   byte // level of the last seed sent, awaiting its key
	unlocked    byte // unlocked seed level, 0 when locked
	failedKeys  int
	lockedUntil time.Time
	started     map[uint16]bool // routines started in the current session
	flash       *flash
	requests    [256]int // requests handled, by service id
}

// didRepairShopCode is ISO's repairShopCodeOrTesterSerialNumber, the default writable DID.
const didRepairShopCode uint16 = 0xF198

// defaultDIDs is the identification every simulated ECU answers (ISO 14229-1 Annex C DIDs).
func defaultDIDs(address uint16, vin [17]byte) map[uint16]*did {
	return map[uint16]*did{
		uds.DIDSparePartNumber: {data: []byte("ECUFLEET-0001")},
		uds.DIDSerialNumber:    {data: fmt.Appendf(nil, "SIM-%04X", address)},
		uds.DIDVIN:             {data: bytes.Clone(vin[:])},
		uds.DIDSystemName:      {data: []byte("ECUFLEET SIM")},
		didRepairShopCode:      {data: []byte("0000000000"), writable: true},
	}
}

// defaultDTCs is the fault memory of an ECU without configured DTCs.
var defaultDTCs = []uds.DTC{
	{Code: 0x012300, Status: 0x2F}, // P0123-00: testFailed, pending, confirmed, failed since clear
	{Code: 0xC10000, Status: 0x08}, // U0100-00: confirmed only
}

// defaultRoutines is the routine table of an ECU without configured routines:
// checkProgrammingDependencies (0xFF01) with start and results.
func defaultRoutines() map[uint16]routine {
	return map[uint16]routine{0xFF01: {byte(uds.RoutineStart): {0x00}, byte(uds.RoutineResults): {0x00}}}
}

// newECU validates one ECU's UDS config; path prefixes field names in errors.
func newECU(path string, address uint16, vin [17]byte, c UDS) (*ecu, error) {
	e := &ecu{address: address, session: uds.SessionDefault, dids: defaultDIDs(address, vin),
		dtcs: slices.Clone(defaultDTCs), routines: defaultRoutines(), started: map[uint16]bool{}}
	var err error
	if e.p2, err = duration(path+"p2", c.P2, DefaultP2); err != nil {
		return nil, err
	}
	if e.p2 > 0xFFFF*time.Millisecond {
		return nil, fieldErr(path+"p2", "at most 65535ms fits the session control response")
	}
	if e.p2Star, err = duration(path+"p2Star", c.P2Star, DefaultP2Star); err != nil {
		return nil, err
	}
	if e.p2Star > 0xFFFF*10*time.Millisecond {
		return nil, fieldErr(path+"p2Star", "at most 655350ms fits the session control response")
	}
	if e.s3, err = duration(path+"s3", c.S3, DefaultS3); err != nil {
		return nil, err
	}
	if err := e.compileDIDs(path, c.DIDs); err != nil {
		return nil, err
	}
	if c.DTCs != nil {
		e.dtcs = make([]uds.DTC, len(c.DTCs))
		for i, d := range c.DTCs {
			code, err := uds.ParseDTCCode(d.Code)
			if err != nil {
				return nil, &FieldError{Field: fmt.Sprintf("%sdtcs[%d].code", path, i), Err: err}
			}
			e.dtcs[i] = uds.DTC{Code: code, Status: d.Status}
		}
	}
	if c.Routines != nil {
		if e.routines, err = compileRoutines(path, c.Routines); err != nil {
			return nil, err
		}
	}
	if e.security, err = compileSecurity(path+"security", c.Security); err != nil {
		return nil, err
	}
	if e.pending, err = compileRules(path+"responsePending", c.ResponsePending); err != nil {
		return nil, err
	}
	e.delays = make([]rule, len(c.Delays))
	for i, d := range c.Delays {
		field := fmt.Sprintf("%sdelays[%d]", path, i)
		if e.delays[i].prefix, err = hexField(field+".request", d.Request); err != nil {
			return nil, err
		}
		if d.Delay == "" {
			return nil, fieldErr(field+".delay", "required, e.g. 2s")
		}
		if e.delays[i].interval, err = duration(field+".delay", d.Delay, 0); err != nil {
			return nil, err
		}
	}
	fc, err := compileFlash(path, c.Memory, c.Flash)
	if err != nil {
		return nil, err
	}
	e.flash = newFlash(fc)
	if r, ok := e.flash.blockDelayRule(); ok {
		e.delays = append(e.delays, r)
	}
	return e, nil
}

func (e *ecu) compileDIDs(path string, dids map[string]DID) error {
	for _, key := range slices.Sorted(maps.Keys(dids)) {
		d := dids[key]
		id, err := id16(path+"dids", key)
		if err != nil {
			return err
		}
		field := fmt.Sprintf("%sdids[0x%04X]", path, id)
		var data []byte
		switch {
		case (d.Text == nil) == (d.Hex == nil):
			return &FieldError{Field: field, Err: errBothTextAndHex}
		case d.Text != nil:
			data = []byte(*d.Text)
		default:
			if data, err = hexField(field+".hex", *d.Hex); err != nil {
				return err
			}
		}
		if len(data) == 0 {
			return fieldErr(field, "a DID needs at least one byte of data")
		}
		e.dids[id] = &did{data: data, writable: d.Writable, protected: d.Protected}
	}
	return nil
}

func compileRoutines(path string, routines map[string]Routine) (map[uint16]routine, error) {
	out := make(map[uint16]routine, len(routines))
	for _, key := range slices.Sorted(maps.Keys(routines)) {
		r := routines[key]
		id, err := id16(path+"routines", key)
		if err != nil {
			return nil, err
		}
		field := fmt.Sprintf("%sroutines[0x%04X]", path, id)
		var rt routine
		for t, h := range map[uds.RoutineControlType]*Hex{uds.RoutineStart: r.Start, uds.RoutineStop: r.Stop, uds.RoutineResults: r.Results} {
			if h == nil {
				continue
			}
			b, err := hexField(field+"."+t.String(), *h)
			if err != nil {
				return nil, err
			}
			rt[t] = append([]byte{}, b...) // non-nil even when empty: supported with no status
		}
		if rt[uds.RoutineStart] == nil {
			return nil, fieldErr(field+".start", "required: a routine that cannot be started cannot be stopped or polled either")
		}
		out[id] = rt
	}
	return out, nil
}

func compileRules(path string, rules []PendingRule) ([]rule, error) {
	out := make([]rule, len(rules))
	for i, r := range rules {
		field := fmt.Sprintf("%s[%d]", path, i)
		var err error
		if out[i].prefix, err = hexField(field+".request", r.Request); err != nil {
			return nil, err
		}
		if r.Count < 1 || r.Count > maxPendingCount {
			return nil, fieldErr(field+".count", "want 1..%d response pending answers", maxPendingCount)
		}
		out[i].count = r.Count
		if out[i].interval, err = duration(field+".interval", r.Interval, DefaultPendingGap); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// match returns the first rule whose prefix starts req.
func match(rules []rule, req []byte) (rule, bool) {
	for _, r := range rules {
		if bytes.HasPrefix(req, r.prefix) {
			return r, true
		}
	}
	return rule{}, false
}
