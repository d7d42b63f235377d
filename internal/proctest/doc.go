// Package proctest runs the ecufleet processes of an end-to-end test, a soak or a benchmark:
// each logs to a file of its own, can be waited on for a log line, killed as a crash would or
// stopped as an operator would, and a Group stops them all at the end, the control plane last.
package proctest
