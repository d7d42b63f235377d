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
	c := rest.CopyConfig(base)
	inner := c.WrapTransport
	c.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if inner != nil {
			rt = inner(rt)
		}
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			s.mu.Lock()
			gate := s.gate
			s.mu.Unlock()
			if gate != nil && r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/diagnosticjobs/") &&
				strings.HasSuffix(r.URL.Path, "/status") {
				select {
				case <-gate:
				case <-r.Context().Done():
					return nil, r.Context().Err()
				}
			}
			return rt.RoundTrip(r)
		})
	}
	return c
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

// roundTripper is a function as an http.RoundTripper.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
