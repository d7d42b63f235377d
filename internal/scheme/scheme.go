// Package scheme builds the one runtime.Scheme every ecufleet client and manager uses, without
// linking the controllers or envtest, so that the agent, the controller and the dev cluster
// share it.
package scheme

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	diagv1 "github.com/ecufleet/ecufleet/api/v1alpha1"
)

// New holds client-go's types and diag.ecufleet.io's, so that no caller forgets one of the two.
func New() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("registering the Kubernetes types: %w", err)
	}
	if err := diagv1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("registering the diag.ecufleet.io types: %w", err)
	}
	return s, nil
}
