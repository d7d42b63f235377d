package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/pkg/doip"
)

// Keys of the Secret named by spec.tls.secretRef, the names cert-manager and
// `kubectl create secret tls` use.
const (
	secretCA   = "ca.crt"
	secretCert = corev1.TLSCertKey
	secretKey  = corev1.TLSPrivateKeyKey
)

// endpoint is everything needed to talk to one ECU, derived from its spec once per attempt or
// probe so that every connection of a job uses the same settings.
type endpoint struct {
	client        doip.Client
	tcpAddr       string // the TLS port when spec.tls is set
	udpAddr       string // vehicle identification, entity status and power mode stay on the plain port
	target        uint16
	autoReconnect bool
}

// endpointFor builds the endpoint of ecu; with TLS it reads the credentials Secret from r.
func endpointFor(ctx context.Context, r client.Reader, ecu *v1alpha1.ECU) (endpoint, error) {
	spec := &ecu.Spec
	port := int(orDefault(spec.Port, doip.Port))
	ep := endpoint{
		client: doip.Client{
			TesterAddress:   uint16(orDefault(spec.TesterAddress, int32(doip.DefaultTesterAddress))),
			ProtocolVersion: byte(orDefault(spec.ProtocolVersion, int32(doip.Version2012))),
		},
		tcpAddr:       net.JoinHostPort(spec.Address, strconv.Itoa(port)),
		udpAddr:       net.JoinHostPort(spec.Address, strconv.Itoa(port)),
		target:        uint16(spec.LogicalAddress),
		autoReconnect: spec.AutoReconnect,
	}
	if ra := spec.RoutingActivation; ra != nil {
		ep.client.NoActivation = ra.Disabled
		ep.client.ActivationType = byte(ra.Type)
		if ra.OEMData != "" {
			oem, err := ra.OEMData.Bytes()
			if err != nil {
				return endpoint{}, fmt.Errorf("ECU %s spec.routingActivation.oemData: %w", client.ObjectKeyFromObject(ecu), err)
			}
			ep.client.ActivationOEM = oem
		}
	}
	if spec.TLS != nil {
		cfg, err := tlsConfig(ctx, r, ecu)
		if err != nil {
			return endpoint{}, err
		}
		ep.client.TLSConfig = cfg
		ep.tcpAddr = net.JoinHostPort(spec.Address, strconv.Itoa(int(orDefault(spec.TLS.Port, doip.TLSPort))))
	}
	return ep, nil
}

// tlsConfig trusts the Secret's ca.crt (the system roots without one) and presents tls.crt and
// tls.key when both are present, for ECUs that demand mutual TLS.
func tlsConfig(ctx context.Context, r client.Reader, ecu *v1alpha1.ECU) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: ecu.Spec.Address}
	ref := ecu.Spec.TLS.SecretRef
	if ref == nil {
		return cfg, nil
	}
	key := types.NamespacedName{Namespace: ecu.Namespace, Name: ref.Name}
	secret := &corev1.Secret{}
	if err := r.Get(ctx, key, secret); err != nil {
		return nil, fmt.Errorf("read TLS Secret %s of ECU %s: %w", key, ecu.Name, err)
	}
	if ca := secret.Data[secretCA]; len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("TLS Secret %s: %s holds no PEM certificate", key, secretCA)
		}
		cfg.RootCAs = pool
	}
	cert, certKey := secret.Data[secretCert], secret.Data[secretKey]
	if len(cert) > 0 || len(certKey) > 0 {
		pair, err := tls.X509KeyPair(cert, certKey)
		if err != nil {
			return nil, fmt.Errorf("TLS Secret %s: %s and %s: %w", key, secretCert, secretKey, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// orDefault returns v, or def when v is zero (a field the API server did not default, e.g. in
// an object created before the default existed).
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
