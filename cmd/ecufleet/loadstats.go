package main

import (
	"slices"
	"time"
)

// loadStats tallies the exchanges of `doip send --count N`: how many, how many were positive
// or negative, the rate, and the latency percentiles a load check reports.
type loadStats struct {
	latencies          []time.Duration
	sorted             bool
	positive, negative int
}

// newLoadStats returns a tally with room for n exchanges, so recording does not allocate.
func newLoadStats(n int) *loadStats {
	return &loadStats{latencies: make([]time.Duration, 0, max(n, 0))}
}

// record adds one answered exchange and its latency.
func (s *loadStats) record(latency time.Duration, positive bool) {
	s.latencies = append(s.latencies, latency)
	s.sorted = false
	if positive {
		s.positive++
	} else {
		s.negative++
	}
}

// count is the number of exchanges recorded.
func (s *loadStats) count() int { return len(s.latencies) }

// rate is the exchanges per second over elapsed, or 0 when elapsed is not positive.
func (s *loadStats) rate(elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(len(s.latencies)) / elapsed.Seconds()
}

// percentile is the nearest-rank percentile p (1..100; clamped) of the latencies, or 0 when
// nothing was recorded.
func (s *loadStats) percentile(p int) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	if !s.sorted {
		slices.Sort(s.latencies)
		s.sorted = true
	}
	p = min(max(p, 1), 100)
	rank := (p*len(s.latencies) + 99) / 100 // ceil(p/100 * n)
	return s.latencies[rank-1]
}
