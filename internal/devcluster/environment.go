package devcluster

import (
	"context"
	"io"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/ecufleet/ecufleet/config/crd"
)

// NewEnvironment returns an envtest environment (a real etcd and kube-apiserver) with ecufleet's
// CRDs, ready to Start; tests and `ecufleet dev` share it so they see the same API server.
func NewEnvironment(ctx context.Context, progress io.Writer) (*envtest.Environment, error) {
	dir, err := ResolveAssets(ctx, progress)
	if err != nil {
		return nil, err
	}
	crds, err := crd.Load()
	if err != nil {
		return nil, err
	}
	return &envtest.Environment{
		BinaryAssetsDirectory: dir,
		CRDInstallOptions:     envtest.CRDInstallOptions{CRDs: crds},
		ErrorIfCRDPathMissing: true,
	}, nil
}
