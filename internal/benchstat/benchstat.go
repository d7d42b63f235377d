// Package benchstat holds the figures the project's benchmarks print (percentiles, medians,
// milliseconds), so every benchmark reports them the same way.
package benchstat

import (
	"cmp"
	"slices"
	"time"
)

// Percentile is the p-th percentile (0..100) of xs by rank (the element at (n-1)*p/100 of the
// sorted values), or the zero value for none; xs is left as it was.
func Percentile[T cmp.Ordered](xs []T, p int) T {
	if len(xs) == 0 {
		var zero T
		return zero
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

// Median is Percentile 50: the middle value, the lower of the two middle ones for an even count.
func Median[T cmp.Ordered](xs []T) T { return Percentile(xs, 50) }

// Millis is d in milliseconds, as the benchmark tables give latencies.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
