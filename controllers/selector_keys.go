package controllers

import (
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// selectorKeys remembers selectorKey by selector object from one pass of a namespace to the
// next: writing a selector out cost about 1.7 µs per ECU on every pass over 10,000 ECUs (issue
// 14), and a cache object, with the selector it points to, is never changed, only replaced.
// What the previous pass did not ask for is forgotten, so old objects are not kept alive.
type selectorKeys struct {
	mu        sync.Mutex
	prev, cur map[*metav1.LabelSelector]string
}

// rotate starts a pass: the keys the last pass asked for stay, the rest are forgotten.
func (k *selectorKeys) rotate() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.prev, k.cur = k.cur, k.prev // the map forgotten is emptied and filled again
	clear(k.cur)
}

// of returns selectorKey(s), remembered when it was asked before; a nil memo remembers nothing.
func (k *selectorKeys) of(s *metav1.LabelSelector) string {
	if k == nil || s == nil {
		return selectorKey(s)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.cur[s]; ok {
		return key
	}
	key, ok := k.prev[s]
	if !ok {
		key = selectorKey(s)
	}
	if k.cur == nil {
		k.cur = map[*metav1.LabelSelector]string{}
	}
	k.cur[s] = key
	return key
}
