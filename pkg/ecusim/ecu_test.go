package ecusim

import (
	"testing"
	"time"

	"github.com/ecufleet/ecufleet/pkg/uds"
)

// These tests drive one ECU with an explicit clock, so timer behaviour (S3, lockout) is
// checked without waiting.

func newTestECU(t *testing.T, c UDS) *ecu {
	t.Helper()
	e, err := newECU("", DefaultLogicalAddress, [17]byte([]byte(DefaultVIN)), c)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func respondHex(t *testing.T, e *ecu, req string, now time.Time) string {
	t.Helper()
	b, err := uds.ParseHex(req)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := e.respond(b, now)
	return uds.FormatHex(resp)
}

func TestS3FallsBackToDefaultSession(t *testing.T) {
	e := newTestECU(t, UDS{S3: "5s"})
	t0 := time.Unix(1000, 0)
	if got := respondHex(t, e, "10 03", t0); got != "50 03 00 32 01 F4" {
		t.Fatal(got)
	}
	// Requests within S3 keep the session.
	for i := 1; i <= 3; i++ {
		if got := respondHex(t, e, "3E 00", t0.Add(time.Duration(i)*4*time.Second)); got != "7E 00" {
			t.Fatal(got)
		}
	}
	if got := respondHex(t, e, "31 01 FF 01", t0.Add(16*time.Second)); got != "71 01 FF 01 00" {
		t.Fatalf("extended session lost within S3: %s", got)
	}
	// More than S3 of silence: back in default, where routine control is refused.
	if got := respondHex(t, e, "31 01 FF 01", t0.Add(22*time.Second)); got != "7F 31 7F" {
		t.Fatalf("after S3: %s, want 7F 31 7F", got)
	}
}

func TestSecurityLockoutExpires(t *testing.T) {
	e := newTestECU(t, UDS{Security: &Security{MaxAttempts: 1, Lockout: "10s"}})
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at       time.Duration
		req, out string
	}{
		{0, "10 03", "50 03 00 32 01 F4"},
		{1 * time.Second, "27 01", "67 01 11 22 33 44"},
		{2 * time.Second, "27 02 00 00 00 00", "7F 27 36"},
		{3 * time.Second, "27 01", "7F 27 37"},
		{7 * time.Second, "3E 00", "7E 00"}, // keep the session within S3
		{11 * time.Second, "27 01", "7F 27 37"},
		{12*time.Second + time.Millisecond, "27 01", "67 01 11 22 33 44"},
		{13 * time.Second, "27 02 4B 78 69 1E", "67 02"},
	}
	for _, s := range steps {
		if got := respondHex(t, e, s.req, t0.Add(s.at)); got != s.out {
			t.Fatalf("at %v %s: %s, want %s", s.at, s.req, got, s.out)
		}
	}
}

func TestResetReportsAndEndsSession(t *testing.T) {
	e := newTestECU(t, UDS{})
	now := time.Unix(1000, 0)
	respondHex(t, e, "10 03", now)
	if _, reset := e.respond([]byte{0x11, 0x03}, now); !reset {
		t.Fatal("11 03 did not report a reset")
	}
	if _, reset := e.respond([]byte{0x11, 0x05}, now); reset {
		t.Fatal("a refused reset reported a reset")
	}
	if e.session != uds.SessionDefault {
		t.Fatalf("session %v after reset", e.session)
	}
}

// FuzzRespond feeds arbitrary requests to an ECU in every session: it must always answer with
// a positive response to the same service or a 3-byte negative one, and never panic.
func FuzzRespond(f *testing.F) {
	for _, seed := range []string{"10 03", "22 F1 90", "2E F1 98 41", "19 02 FF", "14 FF FF FF", "27 01", "27 02 4B 78 69 1E", "31 01 FF 01", "3E 80", "11 01", "FF"} {
		b, _ := uds.ParseHex(seed)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		if len(req) == 0 {
			return // DoIP never delivers an empty diagnostic message
		}
		e := newTestECU(t, UDS{})
		now := e.lastRequest
		for _, session := range []string{"10 01", "10 03"} {
			respondHex(t, e, session, now)
			resp, _ := e.respond(req, now)
			switch {
			case len(resp) == 3 && resp[0] == 0x7F && resp[1] == req[0]:
			case len(resp) >= 1 && resp[0] == req[0]+0x40:
			default:
				t.Fatalf("request % X got % X", req, resp)
			}
		}
	})
}
