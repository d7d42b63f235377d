// Package scale measures ecufleet at fleet scale with real processes: `make bench-scale`
// (not part of `make test`). See docs/benchmarks.md, "Fleet scale".
package scale
