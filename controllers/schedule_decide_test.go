package controllers

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
)

// tickJob is a job of the schedule "nightly" for tick, in phase (a final Failed: StepFailed).
func tickJob(tick time.Time, ecu string, phase diagv1.JobPhase) diagv1.DiagnosticJob {
	s := builders.MakeSchedule("nightly", "lab", "@hourly").Template(builders.MakeJob("t", "lab").ECUSelector(nil).Step(builders.TesterPresent("tp"))).Obj()
	if ecu != "" {
		s.Spec.ForEachECU = &diagv1.ForEachECU{}
	}
	j := *ScheduleRunJobs(s, tick, []string{ecu})[0]
	j.Status.Phase = phase
	if phase == diagv1.JobFailed {
		j.Status.Reason = diagv1.ReasonStepFailed
	}
	if phase == diagv1.JobSucceeded || phase == diagv1.JobFailed {
		j.Status.CompletionTime = &metav1.Time{Time: tick.Add(time.Minute)}
	}
	return j
}

func TestDecideSchedule(t *testing.T) {
	created := time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC)
	hour := func(h int) time.Time { return created.Truncate(time.Hour).Add(time.Duration(h) * time.Hour) }
	for _, tc := range []struct {
		name       string
		edit       func(*diagv1.DiagnosticSchedule)
		jobs       []diagv1.DiagnosticJob
		now        time.Time
		wantTick   time.Time
		wantCreate bool
		wantSkip   string
		replace    int
		prune      int
	}{
		{name: "before the first tick nothing is due", now: created.Add(10 * time.Minute)},
		{name: "the first tick creates a run", now: hour(1).Add(time.Second), wantTick: hour(1), wantCreate: true},
		{name: "a handled tick is not due again",
			edit: func(s *diagv1.DiagnosticSchedule) { s.Status.LastScheduleTime = &metav1.Time{Time: hour(1)} },
			now:  hour(1).Add(30 * time.Minute)},
		{name: "after downtime only the most recent missed tick runs",
			edit: func(s *diagv1.DiagnosticSchedule) { s.Status.LastScheduleTime = &metav1.Time{Time: hour(1)} },
			now:  hour(50).Add(5 * time.Minute), wantTick: hour(50), wantCreate: true},
		{name: "a tick older than startingDeadlineSeconds is skipped",
			edit: func(s *diagv1.DiagnosticSchedule) { s.Spec.StartingDeadlineSeconds = ptr.To[int64](60) },
			now:  hour(3).Add(2 * time.Minute), wantTick: hour(3), wantSkip: diagv1.ReasonMissedDeadline},
		{name: "a tick within startingDeadlineSeconds runs",
			edit: func(s *diagv1.DiagnosticSchedule) { s.Spec.StartingDeadlineSeconds = ptr.To[int64](600) },
			now:  hour(3).Add(2 * time.Minute), wantTick: hour(3), wantCreate: true},
		{name: "suspend skips the tick",
			edit: func(s *diagv1.DiagnosticSchedule) { s.Spec.Suspend = true },
			now:  hour(1), wantTick: hour(1), wantSkip: diagv1.ReasonSuspended},
		{name: "Forbid skips while an earlier run is unfinished",
			jobs: []diagv1.DiagnosticJob{tickJob(hour(1), "", diagv1.JobRunning)},
			edit: func(s *diagv1.DiagnosticSchedule) { s.Status.LastScheduleTime = &metav1.Time{Time: hour(1)} },
			now:  hour(2), wantTick: hour(2), wantSkip: diagv1.ReasonForbid},
		{name: "Forbid runs once the earlier run finished",
			jobs: []diagv1.DiagnosticJob{tickJob(hour(1), "", diagv1.JobSucceeded)},
			edit: func(s *diagv1.DiagnosticSchedule) { s.Status.LastScheduleTime = &metav1.Time{Time: hour(1)} },
			now:  hour(2), wantTick: hour(2), wantCreate: true},
		{name: "a retryable failure is not finished for Forbid",
			jobs: []diagv1.DiagnosticJob{func() diagv1.DiagnosticJob {
				j := tickJob(hour(1), "", diagv1.JobFailed)
				j.Status.Reason = diagv1.ReasonAgentLost
				return j
			}()},
			edit: func(s *diagv1.DiagnosticSchedule) { s.Status.LastScheduleTime = &metav1.Time{Time: hour(1)} },
			now:  hour(2), wantTick: hour(2), wantSkip: diagv1.ReasonForbid},
		{name: "Allow runs beside an unfinished run",
			jobs: []diagv1.DiagnosticJob{tickJob(hour(1), "", diagv1.JobQueued)},
			edit: func(s *diagv1.DiagnosticSchedule) {
				s.Status.LastScheduleTime = &metav1.Time{Time: hour(1)}
				s.Spec.ConcurrencyPolicy = diagv1.ConcurrencyAllow
			},
			now: hour(2), wantTick: hour(2), wantCreate: true},
		{name: "Replace deletes the unfinished jobs and runs",
			jobs: []diagv1.DiagnosticJob{tickJob(hour(1), "a", diagv1.JobQueued), tickJob(hour(1), "b", diagv1.JobSucceeded), tickJob(hour(1), "c", diagv1.JobRunning)},
			edit: func(s *diagv1.DiagnosticSchedule) {
				s.Status.LastScheduleTime = &metav1.Time{Time: hour(1)}
				s.Spec.ConcurrencyPolicy = diagv1.ConcurrencyReplace
			},
			now: hour(2), wantTick: hour(2), wantCreate: true, replace: 2},
		{name: "the tick's own partly created run does not block it (restart mid-tick)",
			jobs: []diagv1.DiagnosticJob{tickJob(hour(1), "a", diagv1.JobQueued)},
			now:  hour(1), wantTick: hour(1), wantCreate: true},
		{name: "history limits prune the oldest finished runs",
			jobs: []diagv1.DiagnosticJob{
				tickJob(hour(1), "", diagv1.JobSucceeded), tickJob(hour(2), "", diagv1.JobSucceeded),
				tickJob(hour(3), "", diagv1.JobFailed), tickJob(hour(4), "", diagv1.JobSucceeded),
				tickJob(hour(5), "", diagv1.JobFailed), tickJob(hour(6), "", diagv1.JobRunning),
			},
			edit: func(s *diagv1.DiagnosticSchedule) {
				s.Status.LastScheduleTime = &metav1.Time{Time: hour(6)}
				s.Spec.SuccessfulRunsHistoryLimit, s.Spec.FailedRunsHistoryLimit = ptr.To[int32](2), ptr.To[int32](1)
			},
			now: hour(6).Add(time.Minute), prune: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := builders.MakeSchedule("nightly", "lab", "@hourly").Obj()
			s.CreationTimestamp = metav1.Time{Time: created}
			if tc.edit != nil {
				tc.edit(s)
			}
			sched, err := parseSchedule(&s.Spec)
			if err != nil {
				t.Fatal(err)
			}
			d := decideSchedule(s, sched, groupRuns(tc.jobs), tc.now)
			if !d.tick.Equal(tc.wantTick) || d.create != tc.wantCreate || d.skip != tc.wantSkip {
				t.Errorf("got tick %v create %v skip %q, want tick %v create %v skip %q", d.tick, d.create, d.skip, tc.wantTick, tc.wantCreate, tc.wantSkip)
			}
			if len(d.replace) != tc.replace || len(d.prune) != tc.prune {
				t.Errorf("got %d jobs to replace and %d to prune, want %d and %d", len(d.replace), len(d.prune), tc.replace, tc.prune)
			}
			if want := sched.Next(tc.now); !d.next.Equal(want) {
				t.Errorf("next tick %v, want %v", d.next, want)
			}
		})
	}
}

func TestPruneKeepsTheNewestRuns(t *testing.T) {
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var jobs []diagv1.DiagnosticJob
	for h := range 5 {
		jobs = append(jobs, tickJob(base.Add(time.Duration(h)*time.Hour), "", diagv1.JobSucceeded))
	}
	spec := &diagv1.DiagnosticScheduleSpec{SuccessfulRunsHistoryLimit: ptr.To[int32](3)}
	got := pruneRuns(spec, groupRuns(jobs))
	if len(got) != 2 || got[0].Name != jobs[1].Name || got[1].Name != jobs[0].Name {
		t.Fatalf("pruned %v, want the two oldest runs %s and %s", names(got), jobs[1].Name, jobs[0].Name)
	}
}

func names(jobs []*diagv1.DiagnosticJob) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.Name)
	}
	return out
}

func TestMostRecentTick(t *testing.T) {
	after := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		schedule, zone string
		now, want      time.Time
	}{
		{"@every 2s", "", after.Add(7 * time.Second), after.Add(6 * time.Second)},
		{"@every 1s", "", after.Add(365 * 24 * time.Hour), after.Add(365 * 24 * time.Hour)},
		// Weekdays at 09:00: after a weekend of downtime the Friday tick is the most recent.
		{"0 9 * * 1-5", "", time.Date(2026, 1, 4, 12, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)},
		// Two minutes apart once a day: the period estimate is too short, the search widens.
		{"0,1 9 * * *", "", time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), time.Date(2026, 2, 28, 9, 1, 0, 0, time.UTC)},
		{"0 2 * * *", "Europe/Berlin", time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 1, 0, 0, 0, time.UTC)},
		{"0 0 30 2 *", "", after.Add(24 * time.Hour), time.Time{}},
	} {
		s := &diagv1.DiagnosticScheduleSpec{Schedule: tc.schedule}
		if tc.zone != "" {
			s.TimeZone = &tc.zone
		}
		sched, err := parseSchedule(s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := mostRecentTick(sched, after, tc.now)
		if ok != !tc.want.IsZero() || !got.Equal(tc.want) {
			t.Errorf("%s in %q at %v: got %v (%v), want %v", tc.schedule, tc.zone, tc.now, got, ok, tc.want)
		}
	}
}

func TestParseScheduleReportsTheParserMessage(t *testing.T) {
	zone := "Mars/Olympus_Mons"
	for _, tc := range []struct {
		spec diagv1.DiagnosticScheduleSpec
		want string
	}{
		{diagv1.DiagnosticScheduleSpec{Schedule: "61 * * * *"}, `spec.schedule "61 * * * *": end of range (61) above maximum (59)`},
		{diagv1.DiagnosticScheduleSpec{Schedule: "* * * FOO *"}, `spec.schedule "* * * FOO *"`},
		{diagv1.DiagnosticScheduleSpec{Schedule: "@every 2 days"}, "failed to parse duration"},
		{diagv1.DiagnosticScheduleSpec{Schedule: "@daily", TimeZone: &zone}, `spec.timeZone "Mars/Olympus_Mons": unknown time zone`},
		{diagv1.DiagnosticScheduleSpec{Schedule: ""}, "spec.schedule"},
	} {
		_, err := parseSchedule(&tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error containing %q", tc.spec.Schedule, err, tc.want)
		}
	}
}

// FuzzParseSchedule checks that no schedule string makes the parser panic or hang.
func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"*/5 * * * *", "@every 1h30m", "0-59/0 * * * *", "@every -1s", "CRON_TZ=X * * * * *", "1-0 * * * *"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec := &diagv1.DiagnosticScheduleSpec{Schedule: s}
		if sched, err := parseSchedule(spec); err == nil {
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			mostRecentTick(sched, now, now.Add(48*time.Hour))
		}
	})
}

func TestNamesStayWithin63Characters(t *testing.T) {
	tick := time.Date(2026, 12, 2, 18, 30, 0, 0, time.UTC)
	long := strings.Repeat("s", 60)
	if got := ScheduleRunID("nightly", tick); got != "nightly-20261202t183000" {
		t.Errorf("run id %q", got)
	}
	a, b := ScheduleRunID(long+"a", tick), ScheduleRunID(long+"b", tick)
	if len(a) > 63 || len(b) > 63 || a == b {
		t.Errorf("long run ids %q and %q: want at most 63 characters and different", a, b)
	}
	ecu := strings.Repeat("e", 200) + ".rack-1"
	j1, j2 := scheduleJobName(a, ecu), scheduleJobName(a, ecu+"x")
	if len(j1) > 63 || j1 == j2 || j1 != scheduleJobName(a, ecu) {
		t.Errorf("job names %q and %q: want at most 63 characters, different and stable", j1, j2)
	}
	if j1[len(j1)-9] != '-' {
		t.Errorf("job name %q does not end in -<hash>", j1)
	}
	if got := scheduleJobName(strings.Repeat("a", 53)+"."+strings.Repeat("b", 20), "ecu"); strings.Contains(got, "-.") || strings.Contains(got, ".-") {
		t.Errorf("cut name %q has an empty DNS label", got)
	}
}

func TestScheduleRunJobsCopiesTheTemplate(t *testing.T) {
	tick := time.Date(2026, 12, 2, 18, 30, 0, 0, time.UTC)
	s := builders.MakeSchedule("nightly", "lab", "@daily").ForEachECU(nil).
		Template(builders.MakeJob("t", "lab").Label("team", "body").ECUSelector(map[string]string{"rack": "a"}).Step(builders.ReadDTCs("dtcs", 0x08))).Obj()
	s.UID = "uid-1"
	s.Spec.JobTemplate.Metadata.Annotations = map[string]string{"owner": "lab"}
	jobs := ScheduleRunJobs(s, tick, []string{"bcm", "gw"})
	if len(jobs) != 2 {
		t.Fatalf("got %d jobs, want one per ECU", len(jobs))
	}
	for i, ecu := range []string{"bcm", "gw"} {
		j := jobs[i]
		if j.Name != "nightly-20261202t183000-"+ecu || j.Spec.ECURef == nil || j.Spec.ECURef.Name != ecu || j.Spec.ECUSelector != nil {
			t.Errorf("job %d: name %q ecuRef %v ecuSelector %v", i, j.Name, j.Spec.ECURef, j.Spec.ECUSelector)
		}
		if j.Labels["team"] != "body" || j.Labels[diagv1.ScheduleLabel] != "nightly" || j.Labels[diagv1.RunLabel] != "nightly-20261202t183000" ||
			j.Annotations["owner"] != "lab" || j.Annotations[diagv1.ScheduledTimeAnnotation] != "2026-12-02T18:30:00Z" {
			t.Errorf("job %d: labels %v annotations %v", i, j.Labels, j.Annotations)
		}
		if ref := metav1.GetControllerOf(j); ref == nil || ref.UID != "uid-1" || ref.Kind != "DiagnosticSchedule" {
			t.Errorf("job %d: controller %v", i, ref)
		}
	}
	jobs[0].Labels["team"] = "changed"
	if s.Spec.JobTemplate.Metadata.Labels["team"] != "body" {
		t.Error("a job shares its labels map with the template")
	}
}

func TestScheduleStatusSumsUpTheLastRun(t *testing.T) {
	tick := time.Date(2026, 12, 2, 18, 30, 0, 0, time.UTC)
	now := tick.Add(time.Hour)
	runs := groupRuns([]diagv1.DiagnosticJob{
		tickJob(tick.Add(-time.Hour), "a", diagv1.JobSucceeded),
		tickJob(tick, "a", diagv1.JobSucceeded), tickJob(tick, "b", diagv1.JobFailed), tickJob(tick, "c", diagv1.JobRunning),
	})
	st := scheduleStatus(diagv1.DiagnosticScheduleStatus{}, 1, runs, tick, nil, now)
	want := diagv1.ScheduleRun{ID: "nightly-20261202t183000", Time: metav1.Time{Time: tick}, Jobs: 3, Succeeded: 1, Failed: 1, Running: 1}
	if st.LastRun == nil || *st.LastRun != want {
		t.Errorf("lastRun %+v, want %+v", st.LastRun, want)
	}
	if len(st.Active) != 1 || st.Active[0].Name != "nightly-20261202t183000-c" {
		t.Errorf("active %v, want the running job", st.Active)
	}
	if st.LastScheduleTime == nil || !st.LastScheduleTime.Equal(&metav1.Time{Time: tick}) {
		t.Errorf("lastScheduleTime %v, want %v", st.LastScheduleTime, tick)
	}
	if st.LastSuccessfulTime == nil || !st.LastSuccessfulTime.Time.Equal(tick.Add(-time.Hour+time.Minute)) {
		t.Errorf("lastSuccessfulTime %v, want the first run's completion", st.LastSuccessfulTime)
	}
}
