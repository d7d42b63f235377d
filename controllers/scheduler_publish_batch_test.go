package controllers

import (
	"fmt"
	"testing"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// A flush writes at most a batch: positions nearest the head first, the ECUs' queuedJobs in
// what is left, half the batch each when both are more than it holds.
func TestFlushBatch(t *testing.T) {
	positions := func(n int) []statusWrite {
		out := make([]statusWrite, n)
		for i := range out {
			out[i] = statusWrite{job: builders.MakeJob(fmt.Sprintf("j%d", i), "ns").Obj(), pos: int32(i + 1)}
		}
		return out
	}
	ecus := func(n int) []*diagv1.ECU {
		out := make([]*diagv1.ECU, n)
		for i := range out {
			out[i] = builders.MakeECU(fmt.Sprintf("e%d", i), "ns").Obj()
		}
		return out
	}
	for _, tc := range []struct {
		name                   string
		positions, ecus, batch int
		wantPositions, wantECU int
		rest                   bool
	}{
		{"nothing", 0, 0, 16, 0, 0, false},
		{"both fit", 5, 3, 16, 5, 3, false},
		{"positions alone, too many", 40, 0, 16, 16, 0, true},
		{"ECUs alone, too many (500 cordoned ECUs after a burst)", 0, 500, 16, 0, 16, true},
		{"both too many: half each", 40, 500, 16, 8, 8, true},
		{"few ECUs leave the rest to positions", 40, 3, 16, 13, 3, true},
		{"few positions leave the rest to ECUs", 3, 40, 16, 3, 13, true},
		{"more positions than half a batch and a few ECUs: all fit", 10, 3, 16, 10, 3, false},
		{"more positions than half a batch and many ECUs", 10, 40, 16, 8, 8, true},
		{"a batch of one", 4, 4, 1, 0, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, es := positions(tc.positions), ecus(tc.ecus)
			gotP, gotE, rest := flushBatch(ps, es, tc.batch)
			if len(gotP) != tc.wantPositions || len(gotE) != tc.wantECU || rest != tc.rest {
				t.Errorf("flushBatch(%d positions, %d ECUs, batch %d) = %d positions, %d ECUs, rest %v; want %d, %d, %v",
					tc.positions, tc.ecus, tc.batch, len(gotP), len(gotE), rest, tc.wantPositions, tc.wantECU, tc.rest)
			}
			if len(gotP) > 0 && gotP[0].pos != 1 {
				t.Errorf("the first position written is %d, want the one nearest the head", gotP[0].pos)
			}
			if len(gotP)+len(gotE) > max(tc.batch, 0) {
				t.Errorf("%d writes, more than the batch of %d", len(gotP)+len(gotE), tc.batch)
			}
		})
	}
}

func TestRotateAfter(t *testing.T) {
	ecus := []*diagv1.ECU{
		builders.MakeECU("a", "ns").Obj(), builders.MakeECU("b", "ns").Obj(),
		builders.MakeECU("c", "ns").Obj(), builders.MakeECU("d", "ns").Obj(),
	}
	for _, tc := range []struct {
		after string
		want  string
	}{
		{"", "abcd"},    // no flush yet
		{"b", "cdab"},   // after the last one written
		{"bb", "cdab"},  // that ECU is gone: the next name on
		{"d", "abcd"},   // the last one: around to the first
		{"zzz", "abcd"}, // past every name
		{"0", "abcd"},   // before every name
	} {
		got := ""
		for _, e := range rotateAfter(ecus, tc.after) {
			got += e.Name
		}
		if got != tc.want {
			t.Errorf("rotateAfter(abcd, %q) = %s, want %s", tc.after, got, tc.want)
		}
	}
}

// While positions keep waiting and every ECU's count keeps changing, successive flushes still
// reach every ECU: 20 of them at 8 a flush take three flushes, not forever for the last 12.
func TestFlushBatchesTakeTurnsThroughTheECUs(t *testing.T) {
	var ecus []*diagv1.ECU
	for i := range 20 {
		ecus = append(ecus, builders.MakeECU(fmt.Sprintf("ecu-%02d", i), "ns").Obj())
	}
	positions := make([]statusWrite, 40)
	written, after := map[string]bool{}, ""
	for range 3 {
		_, counts, _ := flushBatch(positions, rotateAfter(ecus, after), 16)
		for _, e := range counts {
			written[e.Name] = true
		}
		after = counts[len(counts)-1].Name
	}
	if len(written) != len(ecus) {
		t.Errorf("three flushes wrote %d of %d ECUs' queuedJobs", len(written), len(ecus))
	}
}
