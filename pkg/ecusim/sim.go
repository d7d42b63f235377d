package ecusim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/ecufleet/ecufleet/internal/ctxtime"
	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

// bootDenial is the routing activation code a simulated entity answers while it boots after a
// reset or while paused: the entity is there but will not route yet.
const bootDenial = doip.ActivationRejectedConfirmation

// Sim is a running simulated DoIP entity with its ECUs. Its runtime controls (SetNegative,
// Pause, Resume) let tests change the ECU's behaviour while a tester is talking to it.
type Sim struct {
	set  *settings
	log  logr.Logger
	srv  *doip.Server
	own  *ecu
	ecus map[uint16]*ecu

	negative  atomic.Bool
	paused    atomic.Bool
	denyCount atomic.Int64

	requests, ignored, activations, denied, resets, datagrams atomic.Uint64
	faults                                                    faults // DropConnection (faults.go)

	mu      sync.Mutex
	started bool
	addr    net.Addr
	done    chan struct{} // closed when Serve returned
	err     error         // Serve's error, read after done
}

// Stats counts what the simulator received, so tests can assert what a tester did (for
// example that a job did not retry, or that a prober kept polling).
type Stats struct {
	// Requests is the number of diagnostic requests received, answered or not.
	Requests uint64
	// Ignored is the number of requests left unanswered because the simulator was paused or
	// the ECU was booting.
	Ignored uint64
	// Activations is the number of routing activations that reached the simulator's checks.
	Activations uint64
	// DeniedActivations is how many of them were denied (configured denials, boot, pause).
	DeniedActivations uint64
	// Resets is the number of ECU resets performed.
	Resets uint64
	// Datagrams is the number of UDP datagrams received (identification, status, power mode).
	Datagrams uint64
}

// New validates cfg and builds a simulator; it does not open sockets until Start. Invalid
// values are *FieldError naming the YAML field.
func New(cfg Config) (*Sim, error) {
	set, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	s := &Sim{set: set, log: cfg.Logger, own: set.ecus[0], ecus: make(map[uint16]*ecu, len(set.ecus)), done: make(chan struct{})}
	targets := make([]uint16, 0, len(set.ecus))
	for _, e := range set.ecus {
		s.ecus[e.address] = e
		targets = append(targets, e.address)
	}
	s.negative.Store(set.negative)
	s.srv = &doip.Server{
		Handler:          doip.HandlerFunc(s.serveDoIP),
		LogicalAddress:   set.address,
		Targets:          targets,
		VIN:              set.vin,
		EID:              set.eid,
		GID:              set.gid,
		MaxSockets:       set.maxSockets,
		Activate:         s.activate,
		PowerMode:        s.powerMode,
		AnnounceCount:    set.announce.count,
		AnnounceInterval: set.announce.interval,
		AnnounceTo:       set.announce.to,
		Logger:           cfg.Logger,
	}
	if len(set.ecus) > 1 {
		s.srv.NodeType = doip.NodeGateway
	} else {
		s.srv.NodeType = doip.NodeNode
	}
	return s, nil
}

// Start opens the TCP and UDP sockets on the configured address (UDP on the port TCP got, so
// port 0 works) and serves them in the background until Shutdown.
func (s *Sim) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("ecusim: Start called twice")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.set.listen)
	if err != nil {
		return fmt.Errorf("ecusim: listen on TCP %s: %w; is another ECU simulator or DoIP entity using the port?", s.set.listen, err)
	}
	host, _, _ := net.SplitHostPort(s.set.listen)
	udpAddr := net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	pc, err := doip.ListenPacket(ctx, udpAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("ecusim: listen on UDP %s: %w; is another ECU simulator or DoIP entity using the port?", udpAddr, err)
	}
	s.started, s.addr = true, ln.Addr()
	tcp := &faultListener{Listener: &pausableListener{Listener: ln, paused: &s.paused}, f: &s.faults}
	udp := &countingPacketConn{PacketConn: pc, paused: &s.paused, count: &s.datagrams}
	go func() {
		err := s.srv.Serve(tcp, udp)
		if errors.Is(err, doip.ErrServerClosed) {
			err = nil
		}
		s.err = err
		close(s.done)
	}()
	s.log.Info("ECU simulator ready", "addr", s.addr.String(), "logicalAddress", fmt.Sprintf("0x%04X", s.set.address),
		"ecus", len(s.set.ecus), "vin", string(s.set.vin[:]))
	return nil
}

// Run starts the simulator, serves until ctx ends, then shuts it down (the command's loop).
func (s *Sim) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-s.done:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		return err
	}
	return s.err
}

// Addr is the TCP (and UDP) address the simulator listens on, once started.
func (s *Sim) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown closes every socket and waits for running handlers, or for ctx to end.
func (s *Sim) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if started {
		select {
		case <-s.done:
		case <-ctx.Done():
			return fmt.Errorf("ecusim: shutdown: %w", ctx.Err())
		}
	}
	if err != nil {
		return fmt.Errorf("ecusim: %w", err)
	}
	s.log.Info("ECU simulator stopped", "addr", fmt.Sprint(s.Addr()))
	return nil
}

// SetNegative switches the failing-ECU mode (every request answered 7F SID 22) at run time.
func (s *Sim) SetNegative(on bool) { s.negative.Store(on) }

// Pause makes the simulator stop answering, as a crashed or unplugged ECU: open sockets are
// dropped, new ones are closed at once, and UDP requests get no answer, until Resume.
func (s *Sim) Pause() {
	s.paused.Store(true)
	s.srv.CloseConnections()
	s.log.Info("ECU simulator paused")
}

// Resume undoes Pause.
func (s *Sim) Resume() {
	s.paused.Store(false)
	s.log.Info("ECU simulator resumed")
}

// Stats returns the counters so far.
func (s *Sim) Stats() Stats {
	return Stats{
		Requests:          s.requests.Load(),
		Ignored:           s.ignored.Load(),
		Activations:       s.activations.Load(),
		DeniedActivations: s.denied.Load(),
		Resets:            s.resets.Load(),
		Datagrams:         s.datagrams.Load(),
	}
}

// RequestCount is how many requests with service id sid the ECUs handled (not those ignored
// while paused or booting, nor those answered by the negative mode), so a test can assert that
// a tester sent something exactly once, such as each 36 block of a download.
func (s *Sim) RequestCount(sid byte) int {
	n := 0
	for _, e := range s.ecus {
		e.mu.Lock()
		n += e.requests[sid]
		e.mu.Unlock()
	}
	return n
}

// serveDoIP is the Handler: it routes a request to the addressed ECU, applies the configured
// faults and writes the answers.
func (s *Sim) serveDoIP(ctx context.Context, w doip.ResponseWriter, r *doip.Request) {
	s.requests.Add(1)
	e := s.ecus[r.Target]
	now := time.Now()
	if e == nil || s.paused.Load() || e.booting(now) {
		s.ignored.Add(1)
		return
	}
	req := r.Data
	sid := uds.SID(req[0])
	var resp []byte
	reset := false
	if s.negative.Load() {
		resp = negative(sid, uds.NRCConditionsNotCorrect)
	} else {
		resp, reset = e.respond(req, now)
	}
	if l := s.log.V(1); l.Enabled() {
		l.Info("Request handled", "logicalAddress", fmt.Sprintf("0x%04X", e.address),
			"request", logHex(req), "answer", logHex(resp))
	}
	if d, ok := match(e.delays, req); ok && ctxtime.Sleep(ctx, d.interval) != nil {
		return
	}
	p, pending := match(e.pending, req)
	if pending {
		for range p.count {
			if w.Write(negative(sid, uds.NRCResponsePending)) != nil || ctxtime.Sleep(ctx, p.interval) != nil {
				return
			}
		}
	}
	// A suppressed positive response is still sent after response pending (ISO 14229-1).
	if pending || resp[0] == byte(uds.SIDNegativeResponse) || !uds.SuppressesPositiveResponse(req) {
		if w.Write(resp) != nil {
			return
		}
	}
	if reset {
		s.reset(e)
	}
}

// reset makes e boot: it ignores requests for the boot time; the entity's own ECU also drops
// every socket and refuses routing activation meanwhile, as a real ECU does.
func (s *Sim) reset(e *ecu) {
	s.resets.Add(1)
	e.mu.Lock()
	e.bootUntil = time.Now().Add(s.set.bootTime)
	e.mu.Unlock()
	s.log.Info("ECU reset", "logicalAddress", fmt.Sprintf("0x%04X", e.address), "bootTime", s.set.bootTime.String())
	if e == s.own {
		s.srv.CloseConnections()
	}
}

// activate is the Server's routing activation hook: boot and pause refuse, then the
// configured denials.
func (s *Sim) activate(_ context.Context, _ *doip.RoutingActivationRequest) doip.ActivationCode {
	s.activations.Add(1)
	if s.paused.Load() || s.own.booting(time.Now()) {
		s.denied.Add(1)
		return bootDenial
	}
	if d := s.set.deny; d != nil {
		if n := s.denyCount.Add(1); d.always || n <= int64(d.first) {
			s.denied.Add(1)
			return d.code
		}
	}
	return doip.ActivationSuccess
}

// powerMode reports not ready while the entity boots.
func (s *Sim) powerMode() doip.PowerMode {
	if s.own.booting(time.Now()) {
		return doip.PowerModeNotReady
	}
	return doip.PowerModeReady
}

// booting reports whether the ECU is still starting after a reset.
func (e *ecu) booting(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return now.Before(e.bootUntil)
}

// logHexMax bounds the bytes of a request or answer in a log line: enough for a DID write's
// data, not a whole TransferData block.
const logHexMax = 32

// logHex is b as spaced hex for the request log, cut after logHexMax bytes.
func logHex(b []byte) string {
	if len(b) > logHexMax {
		return fmt.Sprintf("% X ... (%d bytes)", b[:logHexMax], len(b))
	}
	return fmt.Sprintf("% X", b)
}
