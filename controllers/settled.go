package controllers

import (
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// settledJobs remembers the resourceVersion at which each finished job's status was found
// complete (conditions derived, observedGeneration current), so that a pass does not derive
// the status of every finished job again: with hundreds of finished jobs that was half of a
// pass's CPU. It is only an accelerator: a restarted controller derives each status once more.
type settledJobs struct {
	mu sync.Mutex
	rv map[client.ObjectKey]string
}

// is reports whether the job is unchanged since its status was found complete.
func (s *settledJobs) is(j *diagv1.DiagnosticJob) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rv, ok := s.rv[client.ObjectKeyFromObject(j)]
	return ok && rv == j.ResourceVersion
}

// mark records that the job's status is complete at its resourceVersion.
func (s *settledJobs) mark(j *diagv1.DiagnosticJob) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rv == nil {
		s.rv = map[client.ObjectKey]string{}
	}
	s.rv[client.ObjectKeyFromObject(j)] = j.ResourceVersion
}

// forgetAbsent drops the jobs of a namespace whose name present denies (deleted jobs).
func (s *settledJobs) forgetAbsent(namespace string, present func(name string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.rv {
		if k.Namespace == namespace && !present(k.Name) {
			delete(s.rv, k)
		}
	}
}

// forget drops a deleted job.
func (s *settledJobs) forget(key client.ObjectKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rv, key)
}
