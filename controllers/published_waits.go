package controllers

import "sync"

// publishedWaits remembers, per namespace, what the last pass found for each waiting job at
// its inputs (decideQueues), so that the next pass skips the jobs of queues nothing changed. Each pass replaces its namespace's map, so it holds waiting jobs only. Like
// settledJobs it is only an accelerator: a restarted controller derives every status once more.
type publishedWaits struct {
	mu sync.Mutex
	ns map[string]map[string]rememberedWait
}

// of returns what the namespace's last pass remembered, by job name, to be read only.
func (w *publishedWaits) of(ns string) map[string]rememberedWait {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ns[ns]
}

// set replaces what the namespace's pass remembers.
func (w *publishedWaits) set(ns string, current map[string]rememberedWait) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ns == nil {
		w.ns = map[string]map[string]rememberedWait{}
	}
	w.ns[ns] = current
}
