package controllers

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// ecusHealthyMetric counts the ECUs whose health check passes, next to ecufleet_ecus_ready, so
// that a dashboard shows how much of a rack its health checks keep out of service.
var ecusHealthyMetric = prometheus.NewGauge(prometheus.GaugeOpts{
	Name: "ecufleet_ecus_healthy",
	Help: "ECUs with spec.healthCheck whose Healthy condition is True.",
})

func init() {
	metrics.Registry.MustRegister(ecusHealthyMetric)
}

// ecuCount is a gauge of how many ECUs are in some state, kept as a set by key so that each
// reconcile reports one ECU and a deleted ECU drops out.
type ecuCount struct {
	gauge prometheus.Gauge

	mu  sync.Mutex
	set map[types.NamespacedName]bool
}

// report sets whether an ECU is in the state; gone removes it.
func (c *ecuCount) report(key types.NamespacedName, in, gone bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.set == nil {
		c.set = map[types.NamespacedName]bool{}
	}
	if gone {
		delete(c.set, key)
	} else {
		c.set[key] = in
	}
	n := 0
	for _, ok := range c.set {
		if ok {
			n++
		}
	}
	c.gauge.Set(float64(n))
}
