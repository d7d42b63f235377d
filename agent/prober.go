package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/patch"
	"github.com/ecufleet/ecufleet/pkg/doip"
)

// Probe defaults for ECUs whose spec.probe the API server did not default.
const (
	defaultProbePeriod    = 30 * time.Second
	defaultProbeTimeout   = 2 * time.Second
	defaultProbeThreshold = 3
)

// prober keeps one probe loop per ECU this agent serves and records each loop's verdict in
// the ECU's status.
type prober struct {
	opts     Options
	log      logr.Logger
	client   client.Client // reads from the agent's caches, writes to the API server
	reader   client.Reader // reads from the API server: fresh state after a conflict, TLS Secrets
	recorder events.EventRecorder
	holdsECU func(types.NamespacedName) bool // a job's connection holds the ECU: alive checks keep off
	base     context.Context                 // Run's context, set before the manager starts: every loop derives from it

	mu    sync.Mutex
	loops map[types.NamespacedName]*probeLoop
	wg    sync.WaitGroup // the loops' goroutines, waited for when Run returns
}

// newProber prepares the prober; holdsECU tells it which ECUs a running job is connected to.
func newProber(c client.Client, r client.Reader, rec events.EventRecorder, opts Options, log logr.Logger,
	holdsECU func(types.NamespacedName) bool) *prober {
	return &prober{opts: opts, log: log, client: c, reader: r, recorder: rec, holdsECU: holdsECU,
		base: context.Background(), loops: make(map[types.NamespacedName]*probeLoop)}
}

// probeLoop is the probe loop of one ECU this agent serves.
type probeLoop struct {
	cfg    probeConfig
	cancel context.CancelFunc
	done   chan struct{}
}

// probeConfig is what a probe loop depends on; any change restarts the loop.
type probeConfig struct {
	method     v1alpha1.ProbeMethod
	period     time.Duration
	timeout    time.Duration
	threshold  int
	generation int64 // a spec change (address, port, TLS) restarts the loop and its failure count
}

func probeConfigOf(ecu *v1alpha1.ECU) probeConfig {
	cfg := probeConfig{method: v1alpha1.ProbeEntityStatus, period: defaultProbePeriod, timeout: defaultProbeTimeout,
		threshold: defaultProbeThreshold, generation: ecu.Generation}
	if p := ecu.Spec.Probe; p != nil {
		cfg.method = orDefault(p.Method, v1alpha1.ProbeEntityStatus)
		cfg.period = orDefault(time.Duration(p.PeriodSeconds)*time.Second, defaultProbePeriod)
		cfg.timeout = orDefault(time.Duration(p.TimeoutSeconds)*time.Second, defaultProbeTimeout)
		cfg.threshold = int(orDefault(p.FailureThreshold, defaultProbeThreshold))
	}
	return cfg
}

// reconcileProbe keeps one probe loop per ECU whose status.agent names this agent, following
// the controller's choice of serving agent and the ECU's probe spec.
func (p *prober) reconcileProbe(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	ecu := &v1alpha1.ECU{}
	if err := p.client.Get(ctx, req.NamespacedName, ecu); err != nil {
		if apierrors.IsNotFound(err) {
			p.stopLoop(req.NamespacedName)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	cfg := probeConfigOf(ecu)
	if ecu.Status.Agent != p.opts.Name || !ecu.DeletionTimestamp.IsZero() || cfg.method == v1alpha1.ProbeNone {
		p.stopLoop(req.NamespacedName)
		return reconcile.Result{}, nil
	}
	p.mu.Lock()
	old := p.loops[req.NamespacedName]
	if old != nil && old.cfg == cfg {
		p.mu.Unlock()
		return reconcile.Result{}, nil
	}
	if p.base.Err() != nil {
		p.mu.Unlock()
		return reconcile.Result{}, nil
	}
	ctx, cancel := context.WithCancel(p.base)
	l := &probeLoop{cfg: cfg, cancel: cancel, done: make(chan struct{})}
	p.loops[req.NamespacedName] = l
	p.wg.Add(1)
	p.mu.Unlock()
	if old != nil {
		old.cancel()
		<-old.done // one loop per ECU at a time: no interleaved verdicts
	}
	p.log.Info("Probing ECU", "ecu", req.NamespacedName, "method", cfg.method, "period", cfg.period)
	go func() {
		defer p.wg.Done()
		defer close(l.done)
		p.loop(ctx, req.NamespacedName, cfg)
	}()
	return reconcile.Result{}, nil
}

// stopLoop ends the probe loop of key, if any.
func (p *prober) stopLoop(key types.NamespacedName) {
	p.mu.Lock()
	l := p.loops[key]
	delete(p.loops, key)
	p.mu.Unlock()
	if l != nil {
		l.cancel()
		p.log.Info("Stopped probing ECU", "ecu", key)
	}
}

// stop cancels every probe loop because the agent stops.
func (p *prober) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.loops {
		l.cancel()
	}
}

// wait returns once every probe loop has returned.
func (p *prober) wait() {
	p.wg.Wait()
}

// loop probes at once, then every period, counting consecutive failures.
func (p *prober) loop(ctx context.Context, key types.NamespacedName, cfg probeConfig) {
	failures := 0
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.probeOnce(ctx, key, cfg, &failures)
		t.Reset(cfg.period)
	}
}

// probeResult is what a successful probe learnt about the ECU; nil fields were not asked.
type probeResult struct {
	vin, eid, gid *string
	entity        *v1alpha1.EntityInfo
	powerMode     *string
	summary       string
}

// probeOnce runs one probe and records its verdict in the ECU status.
func (p *prober) probeOnce(ctx context.Context, key types.NamespacedName, cfg probeConfig, failures *int) {
	ecu := &v1alpha1.ECU{}
	if err := p.client.Get(ctx, key, ecu); err != nil || ecu.Status.Agent != p.opts.Name {
		return
	}
	if cfg.method == v1alpha1.ProbeAliveCheck && (ecu.Status.ActiveJob != "" || p.holdsECU(key)) {
		// A job's tester owns the ECU's sockets now; a probe connection would compete with it.
		p.log.V(1).Info("Probe skipped while a job holds the ECU", "ecu", key, "job", ecu.Status.ActiveJob)
		return
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	res, err := p.probe(pctx, ecu, cfg)
	cancel()
	if ctx.Err() != nil {
		return
	}
	if err == nil {
		*failures = 0
	} else {
		*failures++
		p.log.V(1).Info("Probe failed", "ecu", key, "failures", *failures, "error", err.Error())
	}
	n := *failures
	var changed *metav1.Condition
	_, werr := patch.Mutate(ctx, p.client, p.reader, ecu, patch.Options{Status: true}, func(e *v1alpha1.ECU) (bool, error) {
		if e.Status.Agent != p.opts.Name {
			return false, patch.ErrNotOurs
		}
		now := metav1.Now()
		e.Status.LastProbeTime = &now
		cond := metav1.Condition{Type: v1alpha1.ConditionReachable, ObservedGeneration: e.Generation}
		switch {
		case err == nil:
			res.apply(&e.Status)
			cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, v1alpha1.ReasonProbeSucceeded, res.summary
		case n >= cfg.threshold:
			cond.Status, cond.Reason = metav1.ConditionFalse, v1alpha1.ReasonProbeFailed
			cond.Message = fmt.Sprintf("%d consecutive %s probes failed; last: %v", n, cfg.method, err)
		default:
			return true, nil // below the threshold the verdict stands
		}
		if c := meta.FindStatusCondition(e.Status.Conditions, cond.Type); c == nil || c.Status != cond.Status {
			p.log.Info("ECU reachability changed", "ecu", key, "reachable", cond.Status, "reason", cond.Reason, "message", cond.Message)
			changed = &cond
		}
		meta.SetStatusCondition(&e.Status.Conditions, cond)
		return true, nil
	})
	if werr != nil && ctx.Err() == nil && !apierrors.IsNotFound(werr) && !errors.Is(werr, patch.ErrNotOurs) {
		p.log.Error(werr, "Cannot record the probe result", "ecu", key)
	}
	if werr == nil && changed != nil {
		recordEvent(p.recorder, ecu, changed.Status != metav1.ConditionTrue, changed.Reason, "Probe", changed.Message)
	}
}

// apply copies what the probe learnt into the ECU status.
func (r *probeResult) apply(st *v1alpha1.ECUStatus) {
	if r.vin != nil {
		st.VIN, st.EID, st.GID = *r.vin, *r.eid, *r.gid
	}
	if r.entity != nil {
		st.Entity = r.entity
	}
	if r.powerMode != nil {
		st.PowerMode = *r.powerMode
	}
}

// probe runs the ECU's probe method once within ctx.
func (p *prober) probe(ctx context.Context, ecu *v1alpha1.ECU, cfg probeConfig) (*probeResult, error) {
	ep, err := endpointFor(ctx, p.reader, ecu)
	if err != nil {
		return nil, err
	}
	ep.client.ControlTimeout = cfg.timeout
	switch cfg.method {
	case v1alpha1.ProbeAliveCheck:
		conn, err := ep.client.Dial(ctx, ep.tcpAddr)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		if ep.client.NoActivation {
			return &probeResult{summary: "TCP connection to " + ep.tcpAddr + " accepted"}, nil
		}
		resp, err := conn.AliveCheck(ctx)
		if err != nil {
			return nil, err
		}
		return &probeResult{summary: fmt.Sprintf("Routing activated and alive check answered by 0x%04X at %s", resp.SourceAddress, ep.tcpAddr)}, nil
	case v1alpha1.ProbeVehicleIdentification:
		ann, err := ep.client.Identify(ctx, ep.udpAddr, doip.IdentifyQuery{})
		if err != nil {
			return nil, err
		}
		vin, eid, gid := vinText(ann.VIN), macText(ann.EID), macText(ann.GID)
		return &probeResult{vin: &vin, eid: &eid, gid: &gid,
			summary: fmt.Sprintf("Vehicle identification answered by 0x%04X at %s", ann.LogicalAddress, ep.udpAddr)}, nil
	default:
		st, err := ep.client.EntityStatus(ctx, ep.udpAddr)
		if err != nil {
			return nil, err
		}
		pm, err := ep.client.PowerMode(ctx, ep.udpAddr)
		if err != nil {
			return nil, err
		}
		info, mode := entityInfo(st), powerModeName(pm.Mode)
		return &probeResult{entity: &info, powerMode: &mode,
			summary: fmt.Sprintf("Entity status and power mode (%s) answered at %s", mode, ep.udpAddr)}, nil
	}
}
