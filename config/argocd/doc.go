// Package argocd holds the Argo CD health checks of ecufleet's kinds (a health.lua per kind
// under diag.ecufleet.io/, in the layout of Argo CD's resource_customizations) and the
// argocd-cm patch that installs them; its tests run every script as Argo CD does.
package argocd
