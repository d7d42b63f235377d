package history

import (
	"testing"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// TestRebindDoubleBooking feeds job states as the watch would deliver them: a handover after
// the holder finished is no double booking, a second job bound while the first still runs is.
func TestRebindDoubleBooking(t *testing.T) {
	h := &Recorder{bound: map[string][]string{}}
	running := func(ecu string) JobState { return JobState{Phase: diagv1.JobRunning, ECU: ecu, Attempts: 1} }
	h.rebind("a", JobState{Phase: diagv1.JobScheduled, ECU: "ecu-0", Attempts: 1}, "1")
	h.rebind("a", running("ecu-0"), "2")
	h.rebind("a", JobState{Phase: diagv1.JobQueued, Reason: diagv1.ReasonAgentLost, ECU: "ecu-0", Attempts: 1}, "3")
	h.rebind("b", running("ecu-0"), "4") // a was queued again: the ECU was free
	h.rebind("b", JobState{Phase: diagv1.JobSucceeded, ECU: "ecu-0", Attempts: 1}, "5")
	h.rebind("a", running("ecu-0"), "6")
	h.rebind("c", running("ecu-1"), "7") // another ECU
	if got := h.DoubleBookings(); len(got) != 0 {
		t.Fatalf("double bookings after clean handovers: %v", got)
	}
	h.rebind("d", JobState{Phase: diagv1.JobScheduled, ECU: "ecu-0", Attempts: 1}, "8")
	got := h.DoubleBookings()
	want := DoubleBooking{ECU: "ecu-0", Job: "d", Other: "a", ResourceVersion: "8"}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("double bookings = %v, want [%v]", got, want)
	}
	h.rebind("d", running("ecu-0"), "9") // the same overlap, not a new one
	if n := len(h.DoubleBookings()); n != 1 {
		t.Fatalf("the same overlap counted %d times", n)
	}
	h.rebind("a", JobState{}, "10") // deleted
	h.rebind("e", running("ecu-0"), "11")
	if n := len(h.DoubleBookings()); n != 2 {
		t.Fatalf("double bookings = %d, want 2 (e joins d)", n)
	}
}
