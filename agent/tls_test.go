package agent_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/internal/builders"
	"github.com/ecufleet/ecufleet/pkg/doip"
	"github.com/ecufleet/ecufleet/pkg/uds"
)

var _ = Describe("DoIP over TLS", func() {
	It("connects with the CA and client certificate of the ECU's Secret, and fails an ECU it cannot authenticate to", func() {
		ns := newNamespace()
		labels := map[string]string{"rack": ns}
		startAgent(ns+"-a", labels)

		ca := newCertificate(nil, "ecufleet test CA", nil)
		server := newCertificate(ca, "ecu", []net.IP{net.IPv4(127, 0, 0, 1)})
		clientCert := newCertificate(ca, "agent", nil)
		udpPort, tlsPort := startTLSEntity(ca, server)

		Expect(k8s.Create(suiteCtx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ecu-tls"},
			Data:       map[string][]byte{"ca.crt": ca.certPEM, "tls.crt": clientCert.certPEM, "tls.key": clientCert.keyPEM},
		})).To(Succeed())
		Expect(k8s.Create(suiteCtx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ca-only"},
			Data:       map[string][]byte{"ca.crt": ca.certPEM},
		})).To(Succeed())
		createReadyECU(builders.MakeECU("secure", ns).Port(udpPort).TLS(tlsPort, "ecu-tls").AgentSelector(labels).
			Probe(v1alpha1.ProbeAliveCheck).ProbeTiming(1, 1, 2).Obj())
		createReadyECU(builders.MakeECU("no-client-cert", ns).Port(udpPort).TLS(tlsPort, "ca-only").AgentSelector(labels).
			Probe(v1alpha1.ProbeNone).Obj())

		ok := builders.MakeJob("tls", ns).ECU("secure").Steps(
			builders.ReadDID("read-vin", 0xF190).ExpectValue(simVIN),
			builders.AliveCheck("alive"),
		).Obj()
		Expect(k8s.Create(suiteCtx, ok)).To(Succeed())
		Expect(waitPhase(ok, v1alpha1.JobSucceeded).Status.Progress).To(Equal("2/2"))

		refused := builders.MakeJob("refused", ns).ECU("no-client-cert").Steps(builders.ReadDID("read-vin", 0xF190)).Obj()
		history := watchJob(ns, refused.Name)
		Expect(k8s.Create(suiteCtx, refused)).To(Succeed())
		st := history.eventuallyRecords(v1alpha1.JobFailed, v1alpha1.ReasonEcuUnreachable)
		Expect(st.Message).To(ContainSubstring("cannot reach the ECU at 127.0.0.1:"))
	})
})

// certificate is a key pair with its PEM forms, signed by a CA (or self-signed).
type certificate struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	keyPEM  []byte
}

// newCertificate makes a CA (parent nil) or a leaf for ips signed by parent.
func newCertificate(parent *certificate, cn string, ips []net.IP) *certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, IPAddresses: ips,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	signer, signerKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	} else {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	Expect(err).NotTo(HaveOccurred())
	cert, err := x509.ParseCertificate(der)
	Expect(err).NotTo(HaveOccurred())
	keyDER, err := x509.MarshalECPrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	return &certificate{cert: cert, key: key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})}
}

// startTLSEntity serves a DoIP entity at 0x00E0 that demands a client certificate signed by
// ca: TLS on one port of 127.0.0.1, UDP (identification, status) on another. Its handler
// answers the VIN DID and refuses everything else with 7F SID 11.
func startTLSEntity(ca, server *certificate) (udpPort, tlsPort int32) {
	pair, err := tls.X509KeyPair(server.certPEM, server.keyPEM)
	Expect(err).NotTo(HaveOccurred())
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	srv := &doip.Server{
		LogicalAddress: 0x00E0,
		Handler: doip.HandlerFunc(func(_ context.Context, w doip.ResponseWriter, r *doip.Request) {
			if bytes.Equal(r.Data, uds.ReadDataByIdentifier(uds.DIDVIN)) {
				_ = w.Write(append([]byte{0x62, 0xF1, 0x90}, simVIN...))
				return
			}
			_ = w.Write([]byte{0x7F, r.Data[0], byte(uds.NRCServiceNotSupported)})
		}),
		Logger: GinkgoLogr.WithName("tls-entity"),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	tlsLn := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(tlsLn, pc) }()
	DeferCleanup(func(ctx SpecContext) {
		Expect(srv.Shutdown(ctx)).To(Succeed())
		Expect(<-served).To(Satisfy(func(err error) bool { return errors.Is(err, doip.ErrServerClosed) }))
	})
	return int32(pc.LocalAddr().(*net.UDPAddr).Port), int32(ln.Addr().(*net.TCPAddr).Port)
}
