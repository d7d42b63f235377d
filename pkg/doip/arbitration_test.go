package doip

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"
)

// A tester address already active on a socket whose tester answers the alive check: the new
// socket is denied with 0x03 (the Client answers alive checks by itself).
func TestArbitrationSameSourceLiveTesterWins(t *testing.T) {
	s := echoServer()
	s.AliveCheckTimeout = 5 * time.Second // the answer ends the wait early
	addr := startServer(t, s)
	ctx := testCtx(t)
	first, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_, err = (&Client{}).Dial(ctx, addr)
	var ae *ActivationError
	if !errors.As(err, &ae) || ae.Response.Code != ActivationSourceInUse {
		t.Fatalf("second Dial = %v, want denial 0x03", err)
	}
	if err := first.Send(ctx, 0x00E0, []byte{0x3E, 0x00}); err != nil {
		t.Fatalf("first tester lost its socket: %v", err)
	}
}

// The same, but the first tester is silent: its socket is closed and the new one accepted.
func TestArbitrationSameSourceSilentTesterLoses(t *testing.T) {
	s := echoServer()
	s.AliveCheckTimeout = 100 * time.Millisecond
	addr := startServer(t, s)
	silent := dialRaw(t, addr)
	silent.activate(0x0E00)
	ctx := testCtx(t)
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatalf("Dial = %v, want the silent tester's socket taken over", err)
	}
	defer conn.Close()
	if _, ok := silent.next().(*AliveCheckRequest); !ok {
		t.Fatal("silent socket was not alive-checked")
	}
	silent.expectClosed()
}

// All MaxSockets taken by testers that answer: denial 0x01 and close.
func TestArbitrationAllSocketsLive(t *testing.T) {
	s := echoServer()
	s.MaxSockets, s.AliveCheckTimeout = 2, 5*time.Second // answers end the wait early
	addr := startServer(t, s)
	ctx := testCtx(t)
	for i := uint16(0); i < 2; i++ {
		conn, err := (&Client{TesterAddress: 0x0E00 + i}).Dial(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
	}
	_, err := (&Client{TesterAddress: 0x0E10}).Dial(ctx, addr)
	var ae *ActivationError
	if !errors.As(err, &ae) || ae.Response.Code != ActivationNoFreeSocket {
		t.Fatalf("third Dial = %v, want denial 0x01", err)
	}
}

// All MaxSockets taken, one tester silent: that one is closed and the new tester accepted.
func TestArbitrationAllSocketsOneSilent(t *testing.T) {
	s := echoServer()
	s.MaxSockets, s.AliveCheckTimeout = 2, time.Second // generous: the live tester must answer in time on a loaded machine
	addr := startServer(t, s)
	ctx := testCtx(t)
	live, err := (&Client{TesterAddress: 0x0E01}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	silent := dialRaw(t, addr)
	silent.activate(0x0E02)
	conn, err := (&Client{TesterAddress: 0x0E10}).Dial(ctx, addr)
	if err != nil {
		t.Fatalf("Dial = %v, want the silent socket freed", err)
	}
	defer conn.Close()
	if _, ok := silent.next().(*AliveCheckRequest); !ok {
		t.Fatal("silent socket was not alive-checked")
	}
	silent.expectClosed()
	if err := live.Send(ctx, 0x00E0, []byte{0x3E, 0x00}); err != nil {
		t.Fatalf("live tester lost its socket: %v", err)
	}
}

// A tester whose request is still being served answers the alive check on the same socket:
// the Server reads that answer while the Handler runs, so the new socket is denied 0x03 and the
// busy one keeps its request.
func TestArbitrationBusyTesterAnswersAliveCheck(t *testing.T) {
	g := newGate()
	s := echoServer()
	s.Handler, s.AliveCheckTimeout = g, 10*time.Second // the answer ends the wait early
	addr := startServer(t, s)
	ctx := testCtx(t)
	busy := dialRaw(t, addr)
	busy.activate(0x0E00)
	busy.send(diag(0x31, 0x01, 0xFF, 0x00))
	busy.expectACK()
	receive(t, g.started, "the busy tester's Handler runs")
	dialed := make(chan error, 1)
	go func() {
		conn, err := (&Client{}).Dial(ctx, addr)
		if conn != nil {
			conn.Close()
		}
		dialed <- err
	}()
	if _, ok := busy.next().(*AliveCheckRequest); !ok {
		t.Fatal("busy socket was not alive-checked")
	}
	busy.send(&AliveCheckResponse{SourceAddress: 0x0E00})
	var ae *ActivationError
	if err := <-dialed; !errors.As(err, &ae) || ae.Response.Code != ActivationSourceInUse {
		t.Fatalf("Dial = %v, want denial 0x03: the busy tester answered", err)
	}
	close(g.release)
	busy.expectResponse(0x71, 0x01, 0xFF, 0x00)
}

// The same with a tester that does not answer: being in the middle of a request does not make
// it alive, so its socket is closed (cancelling its Handler) and the new tester is accepted.
func TestArbitrationBusySilentTesterLoses(t *testing.T) {
	g := newGate()
	defer close(g.release)
	s := echoServer()
	s.Handler, s.AliveCheckTimeout = g, 100*time.Millisecond
	addr := startServer(t, s)
	ctx := testCtx(t)
	silent := dialRaw(t, addr)
	silent.activate(0x0E00)
	silent.send(diag(0x31, 0x01, 0xFF, 0x00))
	silent.expectACK()
	receive(t, g.started, "the silent tester's Handler runs")
	conn, err := (&Client{}).Dial(ctx, addr)
	if err != nil {
		t.Fatalf("Dial = %v, want the silent busy tester's socket taken over", err)
	}
	defer conn.Close()
	if _, ok := silent.next().(*AliveCheckRequest); !ok {
		t.Fatal("silent socket was not alive-checked")
	}
	silent.expectClosed()
	receive(t, g.cancelled, "the closed socket's Handler sees its context end")
	expectTesterPresent(ctx, t, conn, "from the new tester")
}

// selfSignedTLS makes a certificate for 127.0.0.1 and the matching client and server configs.
func selfSignedTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "doip-test-entity"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

func TestTLS(t *testing.T) {
	serverTLS, clientTLS := selfSignedTLS(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := echoServer()
	s.TLSConfig = serverTLS
	addr := serveOn(t, s, tls.NewListener(ln, serverTLS), nil)
	ctx := testCtx(t)
	conn, err := (&Client{TLSConfig: clientTLS}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Send(ctx, 0x00E0, []byte{0x22, 0xF1, 0x90}); err != nil {
		t.Fatal(err)
	}
	if m, err := conn.Receive(ctx); err != nil || m.Data[0] != 0x62 {
		t.Fatalf("Receive over TLS: %v, %v", m, err)
	}
	// A plain client cannot talk to the TLS socket.
	if _, err := (&Client{ControlTimeout: 500 * time.Millisecond}).Dial(ctx, addr); err == nil {
		t.Fatal("plain Dial to a TLS socket succeeded")
	}
}

func TestListenAndServeTLSNeedsConfig(t *testing.T) {
	if err := (&Server{}).ListenAndServeTLS("127.0.0.1:0"); err == nil {
		t.Fatal("ListenAndServeTLS without TLSConfig succeeded")
	}
}
