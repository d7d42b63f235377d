package controllers

import (
	"slices"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

func TestIndexOpenJob(t *testing.T) {
	now := time.Now()
	deleting := builders.MakeJob("deleting", "ns").Phase(diagv1.JobSucceeded).Obj()
	deleting.DeletionTimestamp = timeOf(now)
	retryable := builders.MakeJob("retry", "ns").Phase(diagv1.JobFailed).Obj()
	retryable.Status.Reason = diagv1.ReasonAgentLost
	for _, tc := range []struct {
		job  *diagv1.DiagnosticJob
		open bool
	}{
		{builders.MakeJob("new", "ns").Obj(), true},
		{builders.MakeJob("queued", "ns").Phase(diagv1.JobQueued).Obj(), true},
		{builders.MakeJob("running", "ns").Phase(diagv1.JobRunning).Obj(), true},
		{retryable, true},
		{deleting, true},
		{builders.MakeJob("done", "ns").Phase(diagv1.JobSucceeded).Obj(), false},
		{builders.MakeJob("cancelled", "ns").Phase(diagv1.JobCancelled).Obj(), false},
	} {
		keys, err := indexOpenJob(tc.job)
		if want := map[bool][]string{true: {"ns"}}[tc.open]; err != nil || !slices.Equal(keys, want) {
			t.Errorf("%s: indexed under %q (%v), want %q", tc.job.Name, keys, err, want)
		}
	}
}

// TestFinishedJobsPlan walks one namespace through the reads its passes make.
func TestFinishedJobsPlan(t *testing.T) {
	var f finishedJobs
	now := time.Now()
	key := func(name string) client.ObjectKey { return client.ObjectKey{Namespace: "ns", Name: name} }
	steps := []struct {
		name   string
		before func()
		live   string
		at     time.Time
		full   bool
		names  []string
		wake   time.Time
	}{
		{name: "first pass reads all", live: "a", at: now, full: true},
		{name: "then only the open jobs", live: "a", at: now},
		{name: "touched jobs are read once", before: func() { f.touch(key("j1"), false); f.touch(key("j2"), false) },
			live: "a", at: now, names: []string{"j1", "j2"}},
		{name: "and not again", live: "a", at: now},
		{name: "an agent lost: all again", live: "", at: now, full: true},
		{name: "a TTL not yet due wakes the pass for it", before: func() { f.expireAt(key("old"), now.Add(time.Minute)) }, live: "", at: now,
			wake: now.Add(time.Minute)},
		{name: "the earliest of two", before: func() { f.expireAt(key("older"), now.Add(time.Second)) }, live: "", at: now,
			wake: now.Add(time.Second)},
		{name: "a TTL due is read, the other still wakes", live: "", at: now.Add(30 * time.Second), names: []string{"older"},
			wake: now.Add(time.Minute)},
		{name: "a TTL due", live: "", at: now.Add(time.Minute), names: []string{"old"}},
		{name: "a due job is handed out once", live: "", at: now.Add(2 * time.Minute)},
		{name: "unless its TTL is noted again", before: func() { f.expireAt(key("old"), now.Add(time.Minute)) }, live: "",
			at: now.Add(2 * time.Minute), names: []string{"old"}},
		{name: "a deleted job is not read", before: func() { f.touch(key("old"), true) }, live: "", at: now.Add(time.Hour)},
		{name: "a failed read makes the next one full", before: func() { f.readFailed("ns") }, live: "", at: now, full: true},
		{name: "another namespace's jobs are not read here", before: func() { f.touch(client.ObjectKey{Namespace: "other", Name: "x"}, false) },
			live: "", at: now},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		read := f.plan("ns", s.live, s.at)
		if read.full {
			f.readAll("ns", s.live)
		}
		slices.Sort(read.names)
		if read.full != s.full || !slices.Equal(read.names, s.names) || !read.wake.Equal(s.wake) {
			t.Fatalf("%s: read full=%v names=%v wake=%v, want full=%v names=%v wake=%v", s.name, read.full, read.names, read.wake, s.full, s.names, s.wake)
		}
	}
}
