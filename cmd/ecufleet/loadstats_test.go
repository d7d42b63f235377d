package main

import (
	"testing"
	"time"
)

func TestLoadStatsPercentiles(t *testing.T) {
	ms := time.Millisecond
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(100-i) * ms // 100 ms down to 1 ms: recorded out of order
	}
	for _, tc := range []struct {
		name     string
		lat      []time.Duration
		p50, p99 time.Duration
	}{
		{"none", nil, 0, 0},
		{"one", []time.Duration{7 * ms}, 7 * ms, 7 * ms},
		{"two", []time.Duration{9 * ms, 3 * ms}, 3 * ms, 9 * ms},
		{"three", []time.Duration{2 * ms, 1 * ms, 3 * ms}, 2 * ms, 3 * ms},
		{"four", []time.Duration{4 * ms, 1 * ms, 3 * ms, 2 * ms}, 2 * ms, 4 * ms},
		{"hundred", hundred, 50 * ms, 99 * ms},
		{"outlier", []time.Duration{ms, ms, ms, ms, ms, ms, ms, ms, ms, time.Second}, ms, time.Second},
	} {
		s := newLoadStats(len(tc.lat))
		for _, l := range tc.lat {
			s.record(l, true)
		}
		if got := s.percentile(50); got != tc.p50 {
			t.Errorf("%s: p50 %v, want %v", tc.name, got, tc.p50)
		}
		if got := s.percentile(99); got != tc.p99 {
			t.Errorf("%s: p99 %v, want %v", tc.name, got, tc.p99)
		}
		if s.count() != len(tc.lat) {
			t.Errorf("%s: count %d, want %d", tc.name, s.count(), len(tc.lat))
		}
	}
}

func TestLoadStatsCountsAndRate(t *testing.T) {
	s := newLoadStats(0)
	s.record(time.Millisecond, true)
	s.record(2*time.Millisecond, false)
	s.record(3*time.Millisecond, true)
	s.record(4*time.Millisecond, true)
	if s.count() != 4 || s.positive != 3 || s.negative != 1 {
		t.Errorf("count %d positive %d negative %d, want 4 3 1", s.count(), s.positive, s.negative)
	}
	for _, tc := range []struct {
		elapsed time.Duration
		want    float64
	}{
		{2 * time.Second, 2},
		{500 * time.Millisecond, 8},
		{0, 0},
		{-time.Second, 0},
	} {
		if got := s.rate(tc.elapsed); got != tc.want {
			t.Errorf("rate over %v: %v, want %v", tc.elapsed, got, tc.want)
		}
	}
	// Percentiles outside 1..100 are clamped instead of indexing out of range.
	if got := s.percentile(0); got != time.Millisecond {
		t.Errorf("p0 %v, want the minimum", got)
	}
	if got := s.percentile(1000); got != 4*time.Millisecond {
		t.Errorf("p1000 %v, want the maximum", got)
	}
	// Recording after a percentile re-sorts.
	s.record(0, true)
	if got := s.percentile(1); got != 0 {
		t.Errorf("p1 after a new minimum: %v", got)
	}
}
