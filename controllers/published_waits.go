package controllers

import "sync"

// publishedWaits remembers, per namespace, the inputs at which the last pass found each
// waiting job's status current (decideQueues), so that the next pass skips the jobs of queues
// nothing changed. Each pass replaces its namespace's map, so it holds waiting jobs only. Like
// settledJobs it is only an accelerator: a restarted controller derives every status once more.
type publishedWaits struct {
	mu sync.Mutex
	ns map[string]map[string]waitInputs
}

// of returns the namespace's remembered inputs, by job name, to be read only.
func (w *publishedWaits) of(ns string) map[string]waitInputs {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ns[ns]
}

// set replaces the namespace's remembered inputs.
func (w *publishedWaits) set(ns string, current map[string]waitInputs) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ns == nil {
		w.ns = map[string]map[string]waitInputs{}
	}
	w.ns[ns] = current
}
