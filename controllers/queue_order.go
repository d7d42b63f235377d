package controllers

import (
	"cmp"
	"fmt"
	"math"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// queueOrder is the order of every ECU queue: health jobs first (they wait only for the ECU to
// be free, never preempting), then higher priority first, then older (creation time), then by
// name, so that the order is total and the same after a controller restart.
func queueOrder(a, b *diagv1.DiagnosticJob) int {
	return queueOrderOf(rank(a), rank(b))
}

// rankedJob is a job with what its place in the order depends on, read once before a sort:
// comparing 5,000 jobs by fields of theirs read each from memory (three cache lines of each)
// was most of a sort's time (issue 14).
type rankedJob struct {
	job      *diagv1.DiagnosticJob
	health   bool
	priority int32
	created  int64 // creation time, Unix nanoseconds
	name     string
}

// rank reads a job's rank.
func rank(j *diagv1.DiagnosticJob) rankedJob {
	created := int64(math.MinInt64) // no creation time (a test's object): before every other
	if t := j.CreationTimestamp; !t.IsZero() {
		created = t.UnixNano()
	}
	return rankedJob{job: j, health: isHealthJob(j), priority: j.Spec.Priority, created: created, name: j.Name}
}

// queueOrderOf is queueOrder of ranked jobs.
func queueOrderOf(a, b rankedJob) int {
	if a.health != b.health {
		if a.health {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(b.priority, a.priority); c != 0 {
		return c
	}
	if c := cmp.Compare(a.created, b.created); c != 0 {
		return c
	}
	return cmp.Compare(a.name, b.name)
}

// ecuIndex is a namespace's ECUs, sorted by name, with a map by name: a pass finds the ECUs
// of every waiting job, and 5,000 binary searches over 10,000 ECU objects, each comparison a
// cache miss, were a twelfth of a pass (issue 14).
type ecuIndex struct {
	sorted []*diagv1.ECU
	byName map[string]int // index in sorted
}

// indexECUs indexes ecus, sorted by name as a pass holds them.
func indexECUs(ecus []*diagv1.ECU) ecuIndex {
	x := ecuIndex{sorted: ecus, byName: make(map[string]int, len(ecus))}
	for i, e := range ecus {
		x.byName[e.Name] = i
	}
	return x
}

// indexOf is the index of ecus given each one's place in them, or indexECUs without.
func indexOf(ecus []*diagv1.ECU, byName map[string]int) ecuIndex {
	if byName == nil {
		return indexECUs(ecus)
	}
	return ecuIndex{sorted: ecus, byName: byName}
}

// candidates returns the ECUs a job may run on (ecuRef: that one; ecuSelector: every matching
// ECU of the namespace), by name; when there are none it says why, with a reason. An ecuRef's
// one ECU is a slice of the index's own, so the answer allocates nothing: read it, never
// append to it.
func (x ecuIndex) candidates(j *diagv1.DiagnosticJob) (out []*diagv1.ECU, reason, message string) {
	if ref := j.Spec.ECURef; ref != nil {
		if i, ok := x.byName[ref.Name]; ok {
			return x.sorted[i : i+1 : i+1], "", ""
		}
		return nil, diagv1.ReasonEcuNotFound, fmt.Sprintf("ECU %s does not exist in namespace %s; create it or fix spec.ecuRef", ref.Name, j.Namespace)
	}
	sel := labels.Nothing()
	if j.Spec.ECUSelector != nil {
		var err error
		if sel, err = metav1.LabelSelectorAsSelector(j.Spec.ECUSelector); err != nil {
			return nil, diagv1.ReasonNoMatchingEcu, fmt.Sprintf("Invalid spec.ecuSelector: %v", err)
		}
	}
	for _, e := range x.sorted {
		if sel.Matches(labels.Set(e.Labels)) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, diagv1.ReasonNoMatchingEcu, fmt.Sprintf("No ECU in namespace %s matches spec.ecuSelector", j.Namespace)
	}
	return out, "", ""
}

// ecuQueues is every ECU queue of a namespace: the waiting jobs that may use each ECU, in
// queue order, and each job's 1-based position in each of them.
type ecuQueues struct {
	jobs map[string][]*diagv1.DiagnosticJob // ECU name -> queue
	pos  map[string]map[string]int32        // ECU name -> job name -> position
}

// buildQueues puts each job (already in queue order) into the queue of every ECU it may use,
// cands[i] for ordered[i] (none: in no queue).
func buildQueues(ordered []*diagv1.DiagnosticJob, cands [][]*diagv1.ECU) ecuQueues {
	q := ecuQueues{jobs: map[string][]*diagv1.DiagnosticJob{}, pos: map[string]map[string]int32{}}
	for i, j := range ordered {
		for _, e := range cands[i] {
			q.jobs[e.Name] = append(q.jobs[e.Name], j)
			if q.pos[e.Name] == nil {
				q.pos[e.Name] = map[string]int32{}
			}
			q.pos[e.Name][j.Name] = int32(len(q.jobs[e.Name]))
		}
	}
	return q
}

// bestPosition is a job's place in the queue of the ECU where it is closest to the head
// (ties: the ECU first by name), or 0 when it is in no queue.
func (q ecuQueues) bestPosition(j *diagv1.DiagnosticJob, cands []*diagv1.ECU) (pos int32, ecu *diagv1.ECU) {
	for _, e := range cands {
		if p, ok := q.pos[e.Name][j.Name]; ok && (pos == 0 || p < pos) {
			pos, ecu = p, e
		}
	}
	return pos, ecu
}
