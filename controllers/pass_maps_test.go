package controllers

import (
	"testing"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// A namespace's next pass gets its last pass's maps emptied, once; another namespace none.
func TestPassMapsGoToTheNamespacesNextPassEmptied(t *testing.T) {
	r := &SchedulerReconciler{}
	p := &pass{r: r, ns: "ns",
		ecus:  map[string]*diagv1.ECU{"e": builders.MakeECU("e", "ns").Obj()},
		jobs:  map[string]*diagv1.DiagnosticJob{"j": builders.MakeJob("j", "ns").Obj()},
		ready: map[string]ecuReadiness{"e": {ready: true}},
	}
	r.keepMaps(p)
	if m := r.takeMaps("other"); m.ecus != nil || m.jobs != nil || m.ready != nil {
		t.Errorf("another namespace got maps: %+v", m)
	}
	m := r.takeMaps("ns")
	if len(m.ecus)+len(m.jobs)+len(m.ready) != 0 {
		t.Fatalf("maps not emptied: %d ECUs, %d jobs, %d verdicts", len(m.ecus), len(m.jobs), len(m.ready))
	}
	m.ecus["x"], m.jobs["x"], m.ready["x"] = nil, nil, ecuReadiness{}
	if p.ecus["x"] != nil || len(p.ecus) != 1 || len(p.jobs) != 1 || len(p.ready) != 1 {
		t.Errorf("the maps handed over are not the last pass's own")
	}
	if again := r.takeMaps("ns"); again.ecus != nil {
		t.Errorf("the same maps handed out twice")
	}
}

// blank hands out the map the last set replaced, emptied, and only once.
func TestPublishedWaitsBlankIsTheReplacedMap(t *testing.T) {
	var w publishedWaits
	if w.blank("ns") != nil {
		t.Fatal("a blank map before any set")
	}
	first := map[string]rememberedWait{"a": {pos: 1}}
	w.set("ns", first)
	w.set("ns", map[string]rememberedWait{"b": {pos: 2}})
	b := w.blank("ns")
	if b == nil || len(b) != 0 {
		t.Fatalf("blank = %v, want the first map emptied", b)
	}
	b["c"] = rememberedWait{}
	if _, ok := first["c"]; !ok {
		t.Error("blank is not the replaced map")
	}
	if w.blank("ns") != nil {
		t.Error("the replaced map handed out twice")
	}
	if got := w.of("ns"); got["b"].pos != 2 {
		t.Errorf("of = %v after blank, want the current map", got)
	}
}
