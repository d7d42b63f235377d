package controllers

import (
	"fmt"
	"time"
	_ "time/tzdata" // spec.timeZone must resolve in images without a zone database

	"github.com/robfig/cron/v3"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// cronParser reads what spec.schedule allows: 5 fields or a descriptor (@daily, @every 2s).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// zonedSchedule reads the cron fields in one time zone.
type zonedSchedule struct {
	cron.Schedule
	loc *time.Location
}

// Next is the first tick after t, computed in the schedule's zone.
func (z zonedSchedule) Next(t time.Time) time.Time { return z.Schedule.Next(t.In(z.loc)) }

// parseSchedule parses spec.schedule in spec.timeZone (UTC when unset). The error carries the
// parser's message and names the field, for the Valid condition.
func parseSchedule(spec *diagv1.DiagnosticScheduleSpec) (sched cron.Schedule, err error) {
	defer func() {
		if p := recover(); p != nil {
			sched, err = nil, fmt.Errorf("spec.schedule %q: the cron parser failed: %v", spec.Schedule, p)
		}
	}()
	s, err := cronParser.Parse(spec.Schedule)
	if err != nil {
		return nil, fmt.Errorf("spec.schedule %q: %w (want 5 fields, minute hour day-of-month month day-of-week, or @hourly, @daily, @weekly, @every 1h)", spec.Schedule, err)
	}
	loc := time.UTC
	if spec.TimeZone != nil {
		if loc, err = time.LoadLocation(*spec.TimeZone); err != nil {
			return nil, fmt.Errorf("spec.timeZone %q: %w (want an IANA zone such as Europe/Berlin)", *spec.TimeZone, err)
		}
	}
	return zonedSchedule{Schedule: s, loc: loc}, nil
}

// maxTickSteps bounds the ticks one search walks, so a dense schedule after long downtime
// costs a bounded amount of work.
const maxTickSteps = 10000

// mostRecentTick is the latest tick in (after, now], if any. Like the CronJob controller it
// never walks every missed tick: @every steps there by arithmetic, and a cron schedule looks
// back from now over a window twice its period, doubling it until the window holds a tick or
// reaches after.
func mostRecentTick(sched cron.Schedule, after, now time.Time) (time.Time, bool) {
	first := sched.Next(after)
	if first.IsZero() || first.After(now) {
		return time.Time{}, false
	}
	if z, ok := sched.(zonedSchedule); ok {
		if every, ok := z.Schedule.(cron.ConstantDelaySchedule); ok {
			// @every ticks count from the last one, not from the clock: step there directly.
			n := now.Sub(first) / every.Delay
			return first.Add(n * every.Delay), true
		}
	}
	period := sched.Next(first).Sub(first)
	if period <= 0 {
		period = time.Second
	}
	for window := 2 * period; ; window *= 2 {
		from := now.Add(-window)
		if window <= 0 || !from.After(after) {
			from = after
		}
		var last time.Time
		steps := 0
		for t := sched.Next(from); !t.IsZero() && !t.After(now) && steps < maxTickSteps; t = sched.Next(t) {
			last = t
			steps++
		}
		if !last.IsZero() {
			return last, true
		}
		if from.Equal(after) {
			return first, true
		}
	}
}
