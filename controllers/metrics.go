package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
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
