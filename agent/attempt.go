package agent

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/patch"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// Causes of an attempt's cancellation. Only errDeadline and errJobSuspended make the runner
// write the results so far; the others mean the job is gone, no longer ours, or unreachable.
var (
	errAgentStopping = errors.New("the agent is stopping")
	errJobDeleted    = errors.New("the job was deleted")
	errJobSuspended  = errors.New("the job was suspended")
	errJobReleased   = errors.New("the controller ended the attempt or bound the job elsewhere")
	errJobFinished   = errors.New("the job finished")
	errLeaseLost     = errors.New("the agent could not renew its Lease in time")
	errDeadline      = errors.New("the job's activeDeadlineSeconds passed")
)

// Timing of the status writes that end an attempt.
const (
	// finalWriteTimeout bounds the writes after the attempt's own context ended, retries
	// included: long enough to outlast an API server restart, so that a result is not lost.
	finalWriteTimeout = 2 * time.Minute
	// defaultActiveDeadline applies when the API server did not default activeDeadlineSeconds.
	defaultActiveDeadline = 600 * time.Second
)

// attempt is one run of a job's steps by this agent. The job loop reads only its identity (key,
// uid, attempts, ecu) and cancels it or waits for done; everything else belongs to its goroutine.
type attempt struct {
	r        *jobRunner
	log      logr.Logger
	key      types.NamespacedName
	uid      types.UID
	attempts int32                // the job's status.attempts when the attempt started: which attempt this is
	ecu      types.NamespacedName // the ECU the job was scheduled on, kept off the prober's sockets
	cancel   context.CancelCauseFunc
	done     chan struct{} // closed when the goroutine has closed its connection and returned

	job   *v1alpha1.DiagnosticJob // the version last read or written
	plan  []v1alpha1.Step         // the steps as they were when the attempt started
	steps []v1alpha1.StepStatus   // this attempt's results, copied into every write
	bytes int                     // request and response bytes held in steps, against statusByteBudget
	trace *tracer                 // the attempt's DoIP frames; nil for spec.trace Never
}

// newAttempt prepares an attempt of job (a copy the attempt owns); cancel ends its context.
func newAttempt(r *jobRunner, job *v1alpha1.DiagnosticJob, cancel context.CancelCauseFunc) *attempt {
	key := types.NamespacedName{Namespace: job.Namespace, Name: job.Name}
	return &attempt{r: r, log: r.log.WithValues("job", key), key: key, uid: job.UID, attempts: job.Status.Attempts,
		ecu: types.NamespacedName{Namespace: job.Namespace, Name: job.Status.ECU}, cancel: cancel, done: make(chan struct{}),
		job: job, plan: job.DeepCopy().Spec.Steps}
}

// run runs the job's steps over one DoIP connection and writes the results; it is the body of
// the attempt's goroutine.
func (at *attempt) run(ctx context.Context) {
	if err := at.begin(ctx); err != nil {
		if !errors.Is(err, patch.ErrNotOurs) && ctx.Err() == nil {
			at.log.Error(err, "Cannot start the job")
		}
		return
	}
	deadline := deadlineStart(at.job).Add(activeDeadline(at.job))
	ctx, stop := context.WithDeadlineCause(ctx, deadline, errDeadline)
	defer stop()
	trace, err := newTracer(at.job.Spec.Trace)
	if err != nil {
		at.log.Error(err, "Cannot record the job's trace; the job runs without one")
	}
	at.trace = trace
	at.log.Info("Job started", "ecu", at.job.Status.ECU, "steps", len(at.steps), "deadline", deadline.UTC().Format(time.RFC3339))
	recordEvent(at.r.recorder, at.job, false, "Started", "Run", fmt.Sprintf("Agent %s runs %d steps on ECU %s (attempt %d)",
		at.r.opts.Name, len(at.steps), at.job.Status.ECU, at.job.Status.Attempts))

	sess, err := at.connect(ctx)
	if err != nil {
		at.skipFrom(0, "not run: the ECU is unreachable")
		at.end(ctx, err)
		return
	}
	err = at.runSteps(ctx, sess)
	at.trace.note(commentClose, false)
	sess.close() // before the final write: the controller hands the ECU on as soon as it sees it
	if errors.Is(err, patch.ErrNotOurs) {
		at.log.Info("Job left this attempt while it ran; stopped without writing a result")
		return
	}
	at.end(ctx, err)
}

// begin turns the Scheduled attempt into Running with every step Pending, unless the job moved
// on meanwhile.
func (at *attempt) begin(ctx context.Context) error {
	at.steps = make([]v1alpha1.StepStatus, len(at.plan))
	for i, s := range at.plan {
		at.steps[i] = v1alpha1.StepStatus{Name: s.Name, Phase: v1alpha1.StepPending}
	}
	now := metav1.Now()
	return at.write(ctx, func(job *v1alpha1.DiagnosticJob) error {
		st := &job.Status
		if st.Phase != v1alpha1.JobScheduled || job.Spec.Suspend || !job.DeletionTimestamp.IsZero() {
			return patch.ErrNotOurs
		}
		st.Phase, st.StartTime, st.CompletionTime = v1alpha1.JobRunning, &now, nil
		st.Message = fmt.Sprintf("Connecting to ECU %s", st.ECU)
		return nil
	})
}

// connect reads the ECU and opens the job's DoIP connection.
func (at *attempt) connect(ctx context.Context) (*session, error) {
	ecu := &v1alpha1.ECU{}
	key := types.NamespacedName{Namespace: at.key.Namespace, Name: at.job.Status.ECU}
	if err := at.r.reader.Get(ctx, key, ecu); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &unreachableError{addr: "ECU " + key.String(), err: errors.New("the ECU object was deleted after the job was scheduled")}
		}
		return nil, &unreachableError{addr: "ECU " + key.String(), err: fmt.Errorf("read the ECU: %w", err)}
	}
	ep, err := endpointFor(ctx, at.r.reader, ecu)
	if err != nil {
		return nil, &unreachableError{addr: "ECU " + key.String(), err: err}
	}
	ep.client.Hook = at.trace.frameHook()
	return openSession(ctx, ep, activeDeadline(at.job), at.log)
}

// runSteps runs the steps in order, writing each result as the next step starts. It returns
// the error that ends the attempt early: the ECU became unreachable, the connection dropped
// after the ECU acknowledged a request, or the job left this attempt (patch.ErrNotOurs).
func (at *attempt) runSteps(ctx context.Context, sess *session) error {
	skip := ""
	for i := range at.plan {
		step := &at.plan[i]
		if skip == "" && ctx.Err() != nil {
			skip = "not run: " + context.Cause(ctx).Error()
		}
		if skip != "" {
			at.steps[i].Phase, at.steps[i].Message = v1alpha1.StepSkipped, skip
			continue
		}
		at.steps[i].Phase = v1alpha1.StepRunning
		if err := at.write(ctx, at.progressMessage(step.Name)); errors.Is(err, patch.ErrNotOurs) {
			return err
		} else if err != nil && ctx.Err() == nil {
			at.log.Error(err, "Cannot write the job progress; the final result will carry it", "step", step.Name)
		}
		if ctx.Err() != nil {
			// Cancelled while the write waited for the API server (the Lease fence, a deletion):
			// the step must not reach the ECU, which may already be another agent's.
			skip = "not run: " + context.Cause(ctx).Error()
			at.steps[i].Phase, at.steps[i].Message = v1alpha1.StepSkipped, skip
			continue
		}
		timeout := stepTimeout(step)
		stepCtx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("step %q timed out after %v", step.Name, timeout))
		start := time.Now()
		at.trace.step(step)
		o := at.perform(stepCtx, sess, i)
		if o.err != nil && stepCtx.Err() != nil && ctx.Err() == nil {
			o.err = fmt.Errorf("%w: %w", context.Cause(stepCtx), o.err)
		}
		cancel()
		v := judgeStep(step.Expect, o)
		at.record(i, o, v, time.Since(start))
		var unreachable *unreachableError
		var lost *connectionLostError
		var badImage *imageError
		switch {
		case ctx.Err() != nil:
			at.steps[i].Phase = v1alpha1.StepFailed
			at.steps[i].Message = "interrupted: " + context.Cause(ctx).Error()
			skip = "not run: " + context.Cause(ctx).Error()
		case errors.As(o.err, &unreachable):
			at.skipFrom(i+1, "not run: the ECU became unreachable")
			return unreachable
		case errors.As(o.err, &lost):
			at.skipFrom(i+1, "not run: the connection to the ECU was lost")
			return lost
		case errors.As(o.err, &badImage):
			at.skipFrom(i+1, fmt.Sprintf("not run: step %q could not use its image", step.Name))
			return badImage
		case !v.passed && !step.ContinueOnFailure:
			skip = fmt.Sprintf("not run: step %q failed", step.Name)
		}
	}
	return nil
}

// progressMessage is the job message while a step runs.
func (at *attempt) progressMessage(step string) func(*v1alpha1.DiagnosticJob) error {
	return func(job *v1alpha1.DiagnosticJob) error {
		job.Status.Message = fmt.Sprintf("Running step %q", step)
		return nil
	}
}

// skipFrom marks the steps from i on as skipped.
func (at *attempt) skipFrom(i int, why string) {
	for ; i < len(at.steps); i++ {
		at.steps[i].Phase, at.steps[i].Message = v1alpha1.StepSkipped, why
	}
}

// record stores one step's result, cutting large byte strings and values.
func (at *attempt) record(i int, o stepAnswer, v stepVerdict, d time.Duration) {
	limit := maxResponseBytes
	if at.bytes > statusByteBudget {
		limit = maxMessageBytes
	}
	at.bytes += min(len(o.request), limit) + min(len(o.response), limit) + min(len(o.value), limit)
	s := &at.steps[i]
	s.Request, s.Response = cutHex(o.request, limit), cutHex(o.response, limit)
	if o.requestText != "" {
		s.Request = o.requestText
	}
	s.NRC, s.Value, s.Message = "", cutText(o.value, limit), v.message
	if o.nrc != nil {
		s.NRC = uds.FormatNRC(*o.nrc)
	}
	s.DurationMillis = d.Milliseconds()
	s.Phase = v1alpha1.StepFailed
	if v.passed {
		s.Phase = v1alpha1.StepPassed
	}
}

// end writes the attempt's final state: the terminal phase when the steps ran (or the ECU
// could not be reached), the results so far with reason Suspended when the job was suspended,
// and nothing when the job is gone or no longer this agent's.
func (at *attempt) end(ctx context.Context, runErr error) {
	cause := context.Cause(ctx)
	if ctx.Err() != nil && !errors.Is(cause, errDeadline) && !errors.Is(cause, errJobSuspended) {
		at.log.Info("Job attempt stopped", "cause", cause.Error())
		return
	}
	// The attempt's context may have ended (deadline, suspend): the final write gets its own.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
	defer cancel()
	stopOnAgentStop := context.AfterFunc(at.r.base, cancel)
	defer stopOnAgentStop()

	phase, reason, msg := at.jobOutcome(cause, runErr)
	trace, terr := at.storeTrace(wctx, phase)
	if terr != nil {
		at.log.Error(terr, "Cannot store the job's trace; the result is written without it")
		msg += "; trace not stored: " + terr.Error()
	}
	now := metav1.Now()
	err := retryTransient(wctx, func() error {
		return at.write(wctx, func(job *v1alpha1.DiagnosticJob) error {
			st := &job.Status
			if phase != "" {
				st.Phase = phase
				st.CompletionTime = &now
			}
			st.Reason, st.Message = reason, msg
			if trace != nil {
				st.Trace = trace
			}
			return nil
		})
	}, func(err error, wait time.Duration) {
		at.log.Info("Cannot write the job result yet; retrying", "reason", reason, "error", err.Error(), "retryIn", wait.Round(time.Millisecond))
	})
	switch {
	case errors.Is(err, patch.ErrNotOurs):
		at.log.Info("Job moved on before its result was written", "reason", reason)
	case err != nil:
		at.log.Error(err, "Cannot write the job result", "reason", reason)
	default:
		at.log.Info("Job attempt ended", "phase", phase, "reason", reason, "progress", at.progress())
		recordEvent(at.r.recorder, at.job, phase != v1alpha1.JobSucceeded, reason, "Run", msg)
	}
}

// jobOutcome decides the job's final phase, reason and message. An empty phase leaves the phase to the
// controller (suspend).
func (at *attempt) jobOutcome(cause, runErr error) (v1alpha1.JobPhase, string, string) {
	var unreachable *unreachableError
	var lost *connectionLostError
	var badImage *imageError
	switch {
	case errors.Is(cause, errJobSuspended):
		return "", v1alpha1.ReasonSuspended, fmt.Sprintf("Suspended after %s steps passed; the connection to the ECU is closed", at.progress())
	case errors.Is(cause, errDeadline):
		return v1alpha1.JobFailed, v1alpha1.ReasonDeadlineExceeded,
			fmt.Sprintf("activeDeadlineSeconds (%v) passed after %s steps passed", activeDeadline(at.job), at.progress())
	case errors.As(runErr, &unreachable):
		return v1alpha1.JobFailed, v1alpha1.ReasonEcuUnreachable, unreachable.Error()
	case errors.As(runErr, &lost):
		return v1alpha1.JobFailed, v1alpha1.ReasonConnectionLost, lost.Error()
	case errors.As(runErr, &badImage):
		return v1alpha1.JobFailed, badImage.reason, "Nothing sent to the ECU: " + badImage.Error()
	}
	var failed []string
	first := ""
	for _, s := range at.steps {
		if s.Phase == v1alpha1.StepFailed {
			failed = append(failed, strconv.Quote(s.Name))
			if first == "" {
				first = fmt.Sprintf("step %q: %s", s.Name, s.Message)
			}
		}
	}
	switch len(failed) {
	case 0:
	case 1:
		return v1alpha1.JobFailed, v1alpha1.ReasonStepFailed, "Failed " + first
	default:
		return v1alpha1.JobFailed, v1alpha1.ReasonStepFailed,
			fmt.Sprintf("%d steps failed (%s); first %s", len(failed), strings.Join(failed, ", "), first)
	}
	return v1alpha1.JobSucceeded, v1alpha1.ReasonSucceeded, fmt.Sprintf("All %d steps passed", len(at.steps))
}

// write patches this attempt's steps and progress plus what mutate sets, and the conditions that
// follow from the phase (in the same write: they cost none of their own), with the
// resourceVersion precondition; patch.ErrNotOurs when the job left this attempt (deleted, suspended,
// bound elsewhere, finished by the controller).
func (at *attempt) write(ctx context.Context, mutate func(*v1alpha1.DiagnosticJob) error) error {
	_, err := patch.Mutate(ctx, at.r.client, at.r.reader, at.job, patch.Options{Status: true}, func(job *v1alpha1.DiagnosticJob) (bool, error) {
		if !at.owns(job) {
			return false, patch.ErrNotOurs
		}
		if err := mutate(job); err != nil {
			return false, err
		}
		job.Status.Steps = append([]v1alpha1.StepStatus(nil), at.steps...)
		job.Status.Progress = at.progress()
		job.Status.SetConditions(job.Generation, time.Now())
		return true, nil
	})
	return err
}

// owns says whether job is still this attempt's to write: same object, bound to this agent,
// the same attempt (a late write of an attempt the controller already ended must not land on
// the next one, bound to this agent too), not finished by anyone.
func (at *attempt) owns(job *v1alpha1.DiagnosticJob) bool {
	return job.UID == at.uid && job.Status.Agent == at.r.opts.Name && job.Status.Attempts == at.attempts &&
		(job.Status.Phase == v1alpha1.JobScheduled || job.Status.Phase == v1alpha1.JobRunning)
}

// progress is "passed/total".
func (at *attempt) progress() string {
	return progressOf(at.steps)
}

// progressOf counts passed steps, for the STEPS column, with a running download's percentage
// ("2/7 flash 45%").
func progressOf(steps []v1alpha1.StepStatus) string {
	passed, running := 0, ""
	for _, s := range steps {
		switch {
		case s.Phase == v1alpha1.StepPassed:
			passed++
		case s.Phase == v1alpha1.StepRunning && s.Transfer != nil && s.Transfer.TotalBytes > 0:
			running = fmt.Sprintf(" %s %d%%", s.Name, s.Transfer.Bytes*100/s.Transfer.TotalBytes)
		}
	}
	return fmt.Sprintf("%d/%d%s", passed, len(steps), running)
}

// deadlineStart is the time activeDeadlineSeconds counts from: the job's own rule
// (v1alpha1.DiagnosticJob.DeadlineStart, the one the controller enforces), and, for a job whose
// start is not written yet, the start of this attempt: the agent only runs bound jobs, so that
// fallback is the moment the controller's own start will be at the earliest.
func deadlineStart(job *v1alpha1.DiagnosticJob) time.Time {
	if t, ok := job.DeadlineStart(); ok {
		return t
	}
	if job.Status.StartTime != nil {
		return job.Status.StartTime.Time
	}
	return time.Now()
}

// activeDeadline is the job's activeDeadlineSeconds (v1alpha1.DiagnosticJob.ActiveDeadline),
// with the API default for an object stored before that default existed.
func activeDeadline(job *v1alpha1.DiagnosticJob) time.Duration {
	if d, ok := job.ActiveDeadline(); ok && d > 0 {
		return d
	}
	return defaultActiveDeadline
}
