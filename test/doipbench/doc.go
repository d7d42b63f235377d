// Package doipbench measures the whole DoIP stack as users run it: `ecufleet doip send --count`
// against `ecufleet ecusim`, two processes, beside a raw two-process TCP echo of the same bytes,
// with both pairs on one CPU, on two CPUs and where the kernel puts them.
// `make bench-doip` runs it; docs/benchmarks.md, "The whole stack", has the figures.
package doipbench
