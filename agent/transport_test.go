package agent_test

import (
	"net/http"
	"strings"
	"sync"

	"k8s.io/client-go/rest"
)

// statusStall holds an agent's job status writes while stalled, as an API server that has
// stopped answering does: a held write goes on when the stall ends, or fails when its own
// context ends first.
type statusStall struct {
	mu   sync.Mutex
	gate chan struct{} // nil: not stalled; closed when the stall ends
}

// config is the suite's rest.Config with every job status write going through the stall.
func (s *statusStall) config(base *rest.Config) *rest.Config {
	return withRequestHook(base, func(r *http.Request) error {
		s.mu.Lock()
		gate := s.gate
		s.mu.Unlock()
		if gate == nil || writeKind(r) != "job status" {
			return nil
		}
		select {
		case <-gate:
			return nil
		case <-r.Context().Done():
			return r.Context().Err()
		}
	})
}

// stall starts holding job status writes.
func (s *statusStall) stall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate == nil {
		s.gate = make(chan struct{})
	}
}

// release lets the held writes and every later one through.
func (s *statusStall) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

// writeCounter counts an agent's writes to the API server by what they write, so a spec can
// hold the agent to its write budget per job.
type writeCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

// config is the suite's rest.Config with every write counted.
func (w *writeCounter) config(base *rest.Config) *rest.Config {
	return withRequestHook(base, func(r *http.Request) error {
		if kind := writeKind(r); kind != "" {
			w.mu.Lock()
			if w.counts == nil {
				w.counts = map[string]int{}
			}
			w.counts[kind]++
			w.mu.Unlock()
		}
		return nil
	})
}

// of returns the writes of one kind so far.
func (w *writeCounter) of(kind string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counts[kind]
}

// writeKind names a write to a DiagnosticJob of namespace-scoped resources: "job status", "job"
// (metadata), "event"; "" for reads and everything else.
func writeKind(r *http.Request) string {
	if r.Method == http.MethodGet {
		return ""
	}
	switch p := r.URL.Path; {
	case strings.Contains(p, "/diagnosticjobs/") && strings.HasSuffix(p, "/status"):
		return "job status"
	case strings.Contains(p, "/diagnosticjobs/"):
		return "job"
	case strings.HasSuffix(p, "/events") || strings.Contains(p, "/events/"):
		return "event"
	}
	return ""
}

// withRequestHook is base (copied) with hook run before every request; an error from hook
// fails the request instead of sending it.
func withRequestHook(base *rest.Config, hook func(*http.Request) error) *rest.Config {
	c := rest.CopyConfig(base)
	inner := c.WrapTransport
	c.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if inner != nil {
			rt = inner(rt)
		}
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			if err := hook(r); err != nil {
				return nil, err
			}
			return rt.RoundTrip(r)
		})
	}
	return c
}

// roundTripper is a function as an http.RoundTripper.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
