// Package version carries the build's version so agents can report it in status.
package version

// Version is set at link time with -ldflags "-X github.com/ecufleet/ecufleet/internal/version.Version=...".
var Version = "v0.1.0-dev"
