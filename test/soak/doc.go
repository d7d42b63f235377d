// Package soak runs ecufleet for a long time with real processes while killing them at random:
// `make soak` (not part of `make test`; without -soak.duration the test skips). It checks
// that no ECU is double-booked and no step result is lost or duplicated. See
// docs/benchmarks.md, "Soak".
package soak
