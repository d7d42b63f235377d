package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSelectorKeysRememberOnePassBack checks that the memo answers selectorKey, keeps what the
// last pass asked for and forgets what it did not.
func TestSelectorKeysRememberOnePassBack(t *testing.T) {
	rack := &metav1.LabelSelector{MatchLabels: map[string]string{"rack": "r1"}}
	bench := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "bench", Operator: metav1.LabelSelectorOpExists}}}
	rackKey := selectorKey(rack)
	var k selectorKeys

	k.rotate() // pass 1 asks for both
	for _, s := range []*metav1.LabelSelector{rack, bench, rack, nil} {
		if got, want := k.of(s), selectorKey(s); got != want {
			t.Fatalf("pass 1: of(%v) = %q, want %q", s, got, want)
		}
	}
	k.rotate() // pass 2 asks for rack only
	// A cache object never changes, so a changed selector can only show whether the memo
	// wrote it out again.
	rack.MatchLabels["rack"] = "r2"
	if got := k.of(rack); got != rackKey {
		t.Errorf("pass 2: of(rack) = %q, want the remembered %q", got, rackKey)
	}
	k.rotate() // pass 3
	if _, ok := k.prev[bench]; ok {
		t.Error("pass 3: bench is still remembered after a pass that did not ask for it")
	}
	if got, want := k.of(bench), selectorKey(bench); got != want {
		t.Errorf("pass 3: of(bench) = %q, want %q", got, want)
	}
	var none *selectorKeys
	if got, want := none.of(rack), selectorKey(rack); got != want {
		t.Errorf("nil memo: of(rack) = %q, want %q", got, want)
	}
}
