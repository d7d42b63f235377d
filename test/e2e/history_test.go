package e2e

import (
	"context"

	. "github.com/onsi/ginkgo/v2"

	"github.com/ecufleet/ecufleet/internal/history"
)

// jobState is the part of a job's status that tells its attempts apart (internal/history).
type jobState = history.JobState

// record starts the watched history of the namespace's ECUs and jobs (internal/history) until
// the spec ends: the evidence that no ECU was held by a foreign job and that a retried job went
// through AgentLost.
func record(ns string) *history.Recorder {
	h := history.Record(context.Background(), k8s, ns)
	DeferCleanup(h.Stop)
	return h
}
