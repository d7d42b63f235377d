package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// BenchmarkReadiness assesses a fleet-scale namespace once, as each scheduling pass does
// twice: 10,000 ECUs sharing one agent selector, 100 live agents.
func BenchmarkReadiness(b *testing.B) {
	now := time.Now()
	pool := map[string]string{"pool": "rack"}
	var ecus []*diagv1.ECU
	for i := range 10000 {
		ecus = append(ecus, builders.MakeECU(fmt.Sprintf("ecu-%05d", i), "ns").Probe(diagv1.ProbeNone).AgentSelector(pool).Obj())
	}
	agents := map[string]*agentView{}
	var names []string
	for i := range 100 {
		a := builders.MakeAgent(fmt.Sprintf("agent-%03d", i)).Label("pool", "rack").MaxConcurrentJobs(100).Obj()
		agents[a.Name] = &agentView{obj: a, health: agentHealth{live: true, expiry: now.Add(time.Minute)}}
		names = append(names, a.Name)
	}
	for b.Loop() {
		p := &pass{fleet: &fleet{agents: agents, names: names}}
		if r := p.readiness(context.Background(), ecus); !r["ecu-00000"].ready {
			b.Fatal("ECU not Ready")
		}
	}
}

func TestSelectorKey(t *testing.T) {
	sel := func(ml map[string]string, exprs ...metav1.LabelSelectorRequirement) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: ml, MatchExpressions: exprs}
	}
	in := func(key string, values ...string) metav1.LabelSelectorRequirement {
		return metav1.LabelSelectorRequirement{Key: key, Operator: metav1.LabelSelectorOpIn, Values: values}
	}
	same := [][2]*metav1.LabelSelector{
		{sel(map[string]string{"a": "1", "b": "2"}), sel(map[string]string{"b": "2", "a": "1"})},
		{sel(nil, in("x", "1", "2"), in("y", "3")), sel(nil, in("y", "3"), in("x", "2", "1"))},
	}
	for _, p := range same {
		if selectorKey(p[0]) != selectorKey(p[1]) {
			t.Errorf("equal selectors %v and %v have different keys", p[0], p[1])
		}
	}
	different := [][2]*metav1.LabelSelector{
		{nil, sel(map[string]string{"a": "1"})},
		{sel(map[string]string{"a": "1"}), sel(map[string]string{"a": "2"})},
		{sel(map[string]string{"a=1,b": "2"}), sel(map[string]string{"a": "1,b=2"})},
		{sel(nil, in("x", "1")), sel(nil, metav1.LabelSelectorRequirement{Key: "x", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"1"}})},
	}
	for _, p := range different {
		if selectorKey(p[0]) == selectorKey(p[1]) {
			t.Errorf("selectors %v and %v share the key %q", p[0], p[1], selectorKey(p[0]))
		}
	}
}

func TestFleetSnapshot(t *testing.T) {
	var s fleetSnapshot
	loads := 0
	load := func() (*fleet, error) { loads++; return &fleet{}, nil }
	now := time.Now()
	steps := []struct {
		name  string
		at    time.Time
		drop  bool
		loads int
	}{
		{"the first reconcile loads", now, false, 1},
		{"the next moment reuses it", now.Add(500 * time.Millisecond), false, 1},
		{"an agent event drops it", now.Add(600 * time.Millisecond), true, 2},
		{"a second later it is loaded again", now.Add(1700 * time.Millisecond), false, 3},
		{"a clock that went back loads again", now, false, 4},
	}
	for _, st := range steps {
		if st.drop {
			s.drop()
		}
		if _, err := s.get(st.at, load); err != nil || loads != st.loads {
			t.Fatalf("%s: %d loads (err %v), want %d", st.name, loads, err, st.loads)
		}
	}
}
