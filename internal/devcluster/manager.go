package devcluster

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
	"github.com/ecufleet/ecufleet/controllers"
)

// NewScheme holds client-go's types and diag.ecufleet.io's, the scheme every ecufleet client
// and manager needs, so no caller forgets one of the two.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("registering the Kubernetes types: %w", err)
	}
	if err := diagv1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("registering the diag.ecufleet.io types: %w", err)
	}
	return s, nil
}

// NewControllerManager returns a manager running ecufleet's controllers, so that `ecufleet
// controller` and the dev cluster run the very same controller; mo.Scheme is filled in.
func NewControllerManager(cfg *rest.Config, mo ctrl.Options, co controllers.Options) (ctrl.Manager, error) {
	s, err := NewScheme()
	if err != nil {
		return nil, err
	}
	mo.Scheme = s
	mgr, err := ctrl.NewManager(cfg, mo)
	if err != nil {
		return nil, fmt.Errorf("creating the controller manager: %w", err)
	}
	if err := controllers.SetupWithManager(mgr, co); err != nil {
		return nil, err
	}
	return mgr, nil
}
