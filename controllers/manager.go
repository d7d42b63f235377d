package controllers

import (
	"fmt"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

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
