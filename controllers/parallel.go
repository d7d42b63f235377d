package controllers

import "sync"

// runParallel calls fn for every item, at most limit at a time, and returns when all are done,
// so that one pass claims or releases many ECUs in the time of a few API round trips.
func runParallel[T any](limit int, items []T, fn func(T)) {
	if limit <= 1 || len(items) <= 1 {
		for _, it := range items {
			fn(it)
		}
		return
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for _, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(it)
		})
	}
	wg.Wait()
}
