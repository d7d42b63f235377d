package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Schedule metrics, so a lab dashboard shows which schedules run, which skip and why, and
// which last failed.
var (
	scheduleRunsMetric = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ecufleet_schedule_runs_total",
		Help: "Ticks of a DiagnosticSchedule, by result: started (a run was created) or skipped, with the reason of a skip (Forbid, Suspended, MissedDeadline, NoMatchingEcu).",
	}, []string{"namespace", "schedule", "result", "reason"})

	scheduleLastRunFailedMetric = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ecufleet_schedule_last_run_failed",
		Help: "Jobs that Failed or were Cancelled in the last finished run of a DiagnosticSchedule.",
	}, []string{"namespace", "schedule"})
)

func init() {
	metrics.Registry.MustRegister(scheduleRunsMetric, scheduleLastRunFailedMetric)
}

// countScheduleTick records one handled tick: reason "" for a started run.
func countScheduleTick(namespace, schedule, reason string) {
	result := "started"
	if reason != "" {
		result = "skipped"
	}
	scheduleRunsMetric.WithLabelValues(namespace, schedule, result, reason).Inc()
}

// forgetSchedule drops a deleted schedule's series.
func forgetSchedule(namespace, schedule string) {
	l := prometheus.Labels{"namespace": namespace, "schedule": schedule}
	scheduleRunsMetric.DeletePartialMatch(l)
	scheduleLastRunFailedMetric.DeletePartialMatch(l)
}
