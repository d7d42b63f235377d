package devcluster

import (
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ecufleet/ecufleet/internal/scheme"
)

// NewScheme is scheme.New, kept for the callers outside this package (test/e2e) until they
// use internal/scheme directly.
func NewScheme() (*runtime.Scheme, error) { return scheme.New() }
