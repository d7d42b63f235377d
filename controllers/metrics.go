package controllers

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// Metrics are registered once per process with controller-runtime's registry, so that they are
// served on the manager's metrics endpoint next to the workqueue and client metrics.
var (
	queueDepthMetric = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ecufleet_queue_depth",
		Help: "Jobs waiting in the queue of an ECU (a selector job counts in every matching ECU's queue).",
	}, []string{"namespace", "ecu"})

	jobWaitMetric = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ecufleet_job_wait_seconds",
		Help:    "Time from a job's creation to its first scheduling (creationTimestamp has one-second resolution).",
		Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
	})

	jobRunMetric = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ecufleet_job_run_seconds",
		Help:    "Time from a job's last scheduling to its end.",
		Buckets: []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
	})

	jobsFinishedMetric = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ecufleet_jobs_finished_total",
		Help: "Jobs that reached a final phase, by phase (Succeeded, Failed, Cancelled).",
	}, []string{"result"})

	ecusReadyMetric = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ecufleet_ecus_ready",
		Help: "ECUs whose Ready condition is True (reachable and served by a Ready agent).",
	})
)

func init() {
	metrics.Registry.MustRegister(queueDepthMetric, jobWaitMetric, jobRunMetric, jobsFinishedMetric, ecusReadyMetric)
}

// finishRecorder passes a job's watch events on and records the metrics of every job that
// finishes: the watch shows each transition once, whoever wrote it (mostly the agent), and a
// restarted controller does not count old jobs again.
type finishRecorder struct{ handler.EventHandler }

// Update records a job's move from unfinished to final before passing the event on.
func (f finishRecorder) Update(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	before, ok1 := e.ObjectOld.(*diagv1.DiagnosticJob)
	after, ok2 := e.ObjectNew.(*diagv1.DiagnosticJob)
	if ok1 && ok2 && !isFinal(before) && isFinal(after) {
		observeFinish(before, after)
	}
	f.EventHandler.Update(ctx, e, q)
}

// observeFinish records the metrics of a job that just finished; before is the job as it was,
// to know when its last attempt was scheduled.
func observeFinish(before, after *diagv1.DiagnosticJob) {
	jobsFinishedMetric.WithLabelValues(string(after.Status.Phase)).Inc()
	start, scheduled := before.Status.ScheduledAt()
	end, finished := after.Status.FinishTime()
	if scheduled && finished {
		jobRunMetric.Observe(end.Sub(start).Seconds())
	}
}
