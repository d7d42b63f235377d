package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// ecusHealthyMetric is each checked ECU's health verdict, next to ecufleet_ecus_ready, so that a
// dashboard shows which ECUs (and, summed, how much of a rack) the health checks keep out of
// service.
var ecusHealthyMetric = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "ecufleet_ecus_healthy",
	Help: "1 when an ECU with spec.healthCheck has Healthy=True, else 0; sum() counts the healthy ECUs.",
}, []string{"namespace", "ecu"})

func init() {
	metrics.Registry.MustRegister(ecusHealthyMetric)
}

// reportHealthy sets an ECU's ecufleet_ecus_healthy series; gone (deleted, or no health check
// any more) removes it.
func reportHealthy(key types.NamespacedName, healthy, gone bool) {
	if gone {
		ecusHealthyMetric.DeleteLabelValues(key.Namespace, key.Name)
		return
	}
	v := 0.0
	if healthy {
		v = 1
	}
	ecusHealthyMetric.WithLabelValues(key.Namespace, key.Name).Set(v)
}
