package controllers

import (
	"fmt"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/ecufleet/ecufleet/internal/scheme"
)

// NewManager returns a manager running ecufleet's controllers, so that `ecufleet controller`,
// the dev cluster and the tests run the very same controller without the production binary's
// controller path linking envtest; mo.Scheme is filled in.
func NewManager(cfg *rest.Config, mo ctrl.Options, co Options) (ctrl.Manager, error) {
	s, err := scheme.New()
	if err != nil {
		return nil, err
	}
	mo.Scheme = s
	if mo.Cache.DefaultTransform == nil {
		// The controller never reads managedFields: leaving them out of the cache saves
		// memory in proportion to the jobs it holds (docs/benchmarks.md, fleet scale).
		mo.Cache.DefaultTransform = cache.TransformStripManagedFields()
	}
	mgr, err := ctrl.NewManager(cfg, mo)
	if err != nil {
		return nil, fmt.Errorf("creating the controller manager: %w", err)
	}
	if err := SetupWithManager(mgr, co); err != nil {
		return nil, err
	}
	if err := setupSchedules(mgr, co); err != nil {
		return nil, err
	}
	return mgr, nil
}
