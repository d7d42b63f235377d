package doip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
)

// Server is the entity side of DoIP, like http.Server: configure the fields, then call
// ListenAndServe or Serve. The zero value with a Handler is a working single-ECU entity.
type Server struct {
	Handler        Handler  // answers diagnostic messages; nil only ACKs them
	LogicalAddress uint16   // entity address (the gateway's, when it fronts several)
	Targets        []uint16 // logical addresses served; default {LogicalAddress}; others get diagnostic NACK 0x03
	VIN            [17]byte
	EID, GID       [6]byte
	FurtherAction  byte
	NodeType       NodeType
	MaxSockets     int    // concurrent activated TCP sockets; default 4
	MaxDataSize    uint32 // largest UDS request accepted, reported in entity status; default 4 MiB
	// MaxFrameSize is the framer's limit on one payload: above it the Server answers generic
	// NACK 0x02 without reading the payload. Default MaxDataSize+4 (one diagnostic message of
	// MaxDataSize UDS bytes); set it higher to let oversize diagnostic messages reach the
	// diagnostic NACK 0x04 check instead.
	MaxFrameSize         uint32
	TesterMin, TesterMax uint16 // allowed tester range, default 0x0E00-0x0FFF
	ActivationTypes      []byte // accepted activation types, default {0x00, 0x01, 0xE0}; others get 0x06
	// Activate is an optional hook run after the built-in checks: ActivationSuccess accepts,
	// anything else is sent as the denial code.
	Activate  func(ctx context.Context, r *RoutingActivationRequest) ActivationCode
	PowerMode func() PowerMode // default PowerModeReady
	TLSConfig *tls.Config      // used by ListenAndServeTLS

	InitialInactivity time.Duration // T_TCP_Initial_Inactivity, default 2 s
	GeneralInactivity time.Duration // T_TCP_General_Inactivity, default 5 min
	AliveCheckTimeout time.Duration // T_TCP_Alive_Check, default 500 ms

	AnnounceCount    int           // vehicle announcements sent after Serve starts UDP; 0 sends none
	AnnounceInterval time.Duration // default 500 ms
	AnnounceTo       string        // default 255.255.255.255:13400
	ProtocolVersion  byte          // version written in every header, default Version2012
	Logger           logr.Logger
	// Hook, when set, sees every frame the Server reads or writes on TCP and UDP and every TCP
	// socket opening and closing, so an entity's side of a conversation can be recorded.
	Hook FrameHook

	ackCorkDelay time.Duration // how long a corked ACK may wait; 0 means ackCork (tests set it long)

	initOnce   sync.Once
	ctx        context.Context // cancelled by Shutdown: ends handlers and announcements
	cancel     context.CancelFunc
	inShutdown atomic.Bool
	activateMu sync.Mutex // serialises routing activation decisions (they may wait on alive checks)
	wg         sync.WaitGroup

	mu          sync.Mutex
	listeners   map[net.Listener]struct{}
	packetConns map[net.PacketConn]struct{}
	conns       map[*serverConn]struct{}
	tcpAddr     net.Addr
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.ctx, s.cancel = context.WithCancel(context.Background())
		s.listeners = make(map[net.Listener]struct{})
		s.packetConns = make(map[net.PacketConn]struct{})
		s.conns = make(map[*serverConn]struct{})
	})
}

// ListenAndServe serves TCP and UDP on the same host:port (default ":13400"); with port 0 the
// UDP socket takes the port the TCP listener got.
func (s *Server) ListenAndServe(addr string) error {
	return s.listenAndServe(addr, Port, nil)
}

// ListenAndServeTLS serves TLS over TCP on addr (default ":3496") with s.TLSConfig. It opens no
// UDP socket: vehicle identification stays on the plain port (run ListenAndServe for it).
func (s *Server) ListenAndServeTLS(addr string) error {
	if s.TLSConfig == nil {
		return errors.New("doip: ListenAndServeTLS needs Server.TLSConfig with a certificate")
	}
	return s.listenAndServe(addr, TLSPort, s.TLSConfig)
}

func (s *Server) listenAndServe(addr string, defaultPort int, tlsConfig *tls.Config) error {
	if s.inShutdown.Load() {
		return ErrServerClosed
	}
	addr = withDefaultPort(addr, defaultPort)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("doip: listen on TCP %s: %w", addr, err)
	}
	if tlsConfig != nil {
		return s.Serve(tls.NewListener(ln, tlsConfig), nil)
	}
	host, _, _ := net.SplitHostPort(addr)
	udpAddr := net.JoinHostPort(host, fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))
	pc, err := ListenPacket(context.Background(), udpAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("doip: listen on UDP %s: %w", udpAddr, err)
	}
	return s.Serve(ln, pc)
}

// Serve accepts TCP sockets on tcp and answers datagrams on udp; either may be nil. It blocks
// until Shutdown (returning ErrServerClosed) or until the listener fails.
func (s *Server) Serve(tcp net.Listener, udp net.PacketConn) error {
	s.init()
	if s.inShutdown.Load() {
		return ErrServerClosed
	}
	if udp != nil {
		if !s.track(func() { s.packetConns[udp] = struct{}{} }) {
			udp.Close()
			return ErrServerClosed
		}
		s.wg.Add(1)
		go s.serveUDP(udp)
		if s.AnnounceCount > 0 {
			s.wg.Add(1)
			go s.announce(udp)
		}
	}
	if tcp == nil {
		<-s.ctx.Done()
		return ErrServerClosed
	}
	if !s.track(func() {
		s.listeners[tcp] = struct{}{}
		if s.tcpAddr == nil {
			s.tcpAddr = tcp.Addr()
		}
	}) {
		tcp.Close()
		return ErrServerClosed
	}
	for {
		nc, err := tcp.Accept()
		if err != nil {
			if s.inShutdown.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("doip: accept on %s: %w", tcp.Addr(), err)
		}
		s.startConn(nc)
	}
}

// track runs add under the lock unless the server is shutting down.
func (s *Server) track(add func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inShutdown.Load() {
		return false
	}
	add()
	return true
}

// Addr is the TCP address once listening, so tests and the simulator can use port 0.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tcpAddr
}

// OpenSockets is the number of TCP sockets open right now (reported in entity status).
func (s *Server) OpenSockets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// CloseConnections drops every TCP socket at once, as an ECU reset does; listeners stay open.
func (s *Server) CloseConnections() {
	s.init()
	s.mu.Lock()
	conns := make([]*serverConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// Shutdown closes the listeners and UDP sockets, then every TCP socket, and waits for running
// handlers and announcements to return, or for ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.mu.Lock()
	s.inShutdown.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	for pc := range s.packetConns {
		pc.Close()
	}
	s.mu.Unlock()
	s.cancel()
	s.CloseConnections()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("doip: shutdown: handlers still running: %w", ctx.Err())
	}
}

// startConn registers a TCP socket and serves it on its own goroutine. Beyond MaxSockets+1 open
// sockets a new one is closed at once: the one spare socket is enough to win a slot from a
// silent tester through alive-check arbitration.
func (s *Server) startConn(nc net.Conn) {
	c := newServerConn(s, nc)
	s.mu.Lock()
	if s.inShutdown.Load() || len(s.conns) > s.maxSockets() {
		s.mu.Unlock()
		s.Logger.V(1).Info("Refusing TCP socket: too many open", "remote", nc.RemoteAddr(), "max", s.maxSockets()+1)
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	if s.Hook != nil {
		reportConn(s.Hook, true, nc.LocalAddr(), nc.RemoteAddr())
	}
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
		c.serve()
	}()
}

func (s *Server) maxSockets() int {
	if s.MaxSockets <= 0 {
		return 4
	}
	return s.MaxSockets
}

func (s *Server) maxDataSize() uint32 {
	if s.MaxDataSize == 0 {
		return DefaultMaxPayload
	}
	return s.MaxDataSize
}

func (s *Server) maxFrameSize() uint32 {
	if s.MaxFrameSize != 0 {
		return s.MaxFrameSize
	}
	if d := s.maxDataSize(); d <= ^uint32(0)-4 {
		return d + 4
	}
	return ^uint32(0)
}

func (s *Server) ackCorkTime() time.Duration {
	if s.ackCorkDelay > 0 {
		return s.ackCorkDelay
	}
	return ackCork
}

func (s *Server) version() byte {
	if s.ProtocolVersion == 0 {
		return Version2012
	}
	return s.ProtocolVersion
}

func (s *Server) testerAllowed(a uint16) bool {
	lo, hi := s.TesterMin, s.TesterMax
	if lo == 0 && hi == 0 {
		lo, hi = DefaultTesterAddress, DefaultTesterMax
	}
	return a >= lo && a <= hi
}

func (s *Server) activationTypeAllowed(t byte) bool {
	if s.ActivationTypes == nil {
		return t == 0x00 || t == 0x01 || t == 0xE0
	}
	return slices.Contains(s.ActivationTypes, t)
}

func (s *Server) servesTarget(a uint16) bool {
	if len(s.Targets) == 0 {
		return a == s.LogicalAddress
	}
	return slices.Contains(s.Targets, a)
}

func (s *Server) timeout(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// withDefaultPort adds port to an address given as a bare host, and turns "" into ":port".
func withDefaultPort(addr string, port int) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	return net.JoinHostPort(trimBrackets(addr), fmt.Sprint(port))
}

func trimBrackets(host string) string {
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		return host[1 : len(host)-1]
	}
	return host
}
