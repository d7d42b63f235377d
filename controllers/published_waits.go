package controllers

import "sync"

// publishedWaits remembers, per namespace, what the last pass found for each waiting job at
// its inputs (decideQueues), so that the next pass skips the jobs of queues nothing changed. Each pass replaces its namespace's map, so it holds waiting jobs only. Like
// settledJobs it is only an accelerator: a restarted controller derives every status once more.
type publishedWaits struct {
	mu sync.Mutex
	ns map[string]map[string]rememberedWait
	// spare is, per namespace, the map set replaced, for blank to hand out again: a new map of
	// 5,000 waiting jobs on every pass was a tenth of what the controller allocated (issue 14).
	spare map[string]map[string]rememberedWait
}

// of returns what the namespace's last pass remembered, by job name, to be read only.
func (w *publishedWaits) of(ns string) map[string]rememberedWait {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ns[ns]
}

// set replaces what the namespace's pass remembers; the map it replaces is blank's next.
func (w *publishedWaits) set(ns string, current map[string]rememberedWait) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ns == nil {
		w.ns, w.spare = map[string]map[string]rememberedWait{}, map[string]map[string]rememberedWait{}
	}
	if old := w.ns[ns]; old != nil {
		w.spare[ns] = old
	}
	w.ns[ns] = current
}

// blank returns an empty map for the namespace's next decision to fill, the one the last set
// replaced when there is one (nil: none yet); nothing reads that one any more.
func (w *publishedWaits) blank(ns string) map[string]rememberedWait {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.spare[ns]
	delete(w.spare, ns)
	clear(m)
	return m
}
