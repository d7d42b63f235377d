package benchstat

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for _, tc := range []struct {
		p    int
		want float64
	}{{0, 1}, {50, 3}, {90, 4}, {99, 4}, {100, 5}} {
		if got := Percentile(xs, tc.p); got != tc.want {
			t.Errorf("Percentile(%v, %d) = %v, want %v", xs, tc.p, got, tc.want)
		}
	}
	if xs[0] != 5 {
		t.Errorf("Percentile sorted its input: %v", xs)
	}
	if got := Percentile([]time.Duration(nil), 50); got != 0 {
		t.Errorf("Percentile of none = %v, want 0", got)
	}
	if got := Median([]int{4, 1, 3, 2}); got != 2 {
		t.Errorf("Median of 4 values = %v, want the lower middle one, 2", got)
	}
	if got := Millis(1500 * time.Microsecond); got != 1.5 {
		t.Errorf("Millis = %v, want 1.5", got)
	}
}
