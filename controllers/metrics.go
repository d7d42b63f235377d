package controllers

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
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

	queueOldestWaitMetric = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ecufleet_queue_oldest_wait_seconds",
		Help: "Age of the oldest job waiting in the queue of an ECU (0: the queue is empty), as of the last scheduling pass.",
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

	agentsReadyMetric = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ecufleet_agents_ready",
		Help: "DiagnosticAgents whose Ready condition is True (their heartbeat Lease is current).",
	})

	flashBytesMetric = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ecufleet_flash_bytes_total",
		Help: "Bytes written to ECUs by download steps (status.steps[].transfer.bytes) of finished jobs.",
	})

	flashThroughputMetric = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ecufleet_flash_throughput_bytes_per_second",
		Help:    "Throughput of each download step of a finished job (status.steps[].transfer.bytesPerSecond).",
		Buckets: prometheus.ExponentialBuckets(1024, 2, 14), // 1 KiB/s .. 8 MiB/s
	})
)

func init() {
	metrics.Registry.MustRegister(queueDepthMetric, queueOldestWaitMetric, jobWaitMetric, jobRunMetric,
		jobsFinishedMetric, ecusReadyMetric, agentsReadyMetric, flashBytesMetric, flashThroughputMetric)
	// Every result exists from the start, so that rate() sees a job's first failure.
	for _, p := range []diagv1.JobPhase{diagv1.JobSucceeded, diagv1.JobFailed, diagv1.JobCancelled} {
		jobsFinishedMetric.WithLabelValues(string(p))
	}
}

// readyCount keeps the Ready verdict of each object of a kind and sets a gauge to the number
// of True ones, so that a reconciler of one object can publish a count over all of them.
type readyCount struct {
	gauge prometheus.Gauge

	mu    sync.Mutex
	ready map[types.NamespacedName]bool // only the Ready ones: a reconcile of one of 10,000 ECUs must not count them all
}

// set records one object's verdict (gone: it was deleted) and updates the gauge.
func (c *readyCount) set(key types.NamespacedName, ready, gone bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ready == nil {
		c.ready = map[types.NamespacedName]bool{}
	}
	if ready && !gone {
		c.ready[key] = true
	} else {
		delete(c.ready, key)
	}
	c.gauge.Set(float64(len(c.ready)))
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
	for _, s := range after.Status.Steps {
		if t := s.Transfer; t != nil && t.Bytes > 0 {
			flashBytesMetric.Add(float64(t.Bytes))
			if t.BytesPerSecond > 0 {
				flashThroughputMetric.Observe(float64(t.BytesPerSecond))
			}
		}
	}
}
