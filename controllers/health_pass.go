package controllers

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// judgeHealth sets the health of every ECU with spec.healthCheck from its health jobs, as the
// health checker will judge them, rather than from the Healthy condition: the pass that sees a
// check fail is the pass that would hand the ECU to the next job, before the condition is
// written. The health jobs are read by label from the cache (the pass's snapshot need not hold
// finished jobs), preferring the snapshot's copies; when the read fails the conditions decide.
func (p *pass) judgeHealth(ctx context.Context, ecus []*diagv1.ECU, ready map[string]ecuReadiness) {
	checked := false
	for _, e := range ecus {
		checked = checked || e.Spec.HealthCheck != nil
	}
	if !checked {
		return
	}
	var list diagv1.DiagnosticJobList
	if err := p.r.client.List(ctx, &list, client.InNamespace(p.ns), client.MatchingFields{healthJobIndex: allHealthJobs}, client.UnsafeDisableDeepCopy); err != nil {
		p.fail(fmt.Errorf("listing the health jobs in %s: %w", p.ns, err))
		return
	}
	// By the ECU each names, so that each ECU looks at its own few checks only.
	checks := map[string][]*diagv1.DiagnosticJob{}
	for i := range list.Items {
		j := &list.Items[i]
		if own := p.job(j.Name); own != nil {
			j = own
		}
		if j.Spec.ECURef != nil {
			checks[j.Spec.ECURef.Name] = append(checks[j.Spec.ECURef.Name], j)
		}
	}
	for _, e := range ecus {
		if e.Spec.HealthCheck == nil {
			continue
		}
		r := ready[e.Name]
		v := healthVerdict(e, newHealthHistory(e.Name, checks[e.Name]), p.now)
		r.unhealthy, r.healthNote = v.Status == metav1.ConditionFalse, v.Message
		ready[e.Name] = r
	}
}
