// Package v1alpha1 holds ecufleet's API (ECU, DiagnosticJob, DiagnosticAgent in the
// diag.ecufleet.io group), so that the controller, the agents, kubectl and the CRDs all share one
// definition of the resources and of what a valid object is.
//
// +kubebuilder:object:generate=true
// +groupName=diag.ecufleet.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion identifies this API for clients, schemes and RESTMappers.
	GroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

	// SchemeBuilder collects the kinds of this package so that one call registers them all.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme registers the kinds with a runtime.Scheme, as controllers and clients need.
	AddToScheme = SchemeBuilder.AddToScheme
)
