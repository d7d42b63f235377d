package image

import (
	"context"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ecufleet/ecufleet/internal/ocitest"
)

// newTestRegistry starts an in-process OCI registry (internal/ocitest) for the test.
func newTestRegistry(t *testing.T, user, pass string) *ocitest.Registry {
	t.Helper()
	r := ocitest.NewRegistry(user, pass)
	t.Cleanup(r.Close)
	return r
}

// push packs files into an artifact with oras-go and copies it to reg as repo:tag.
func push(t *testing.T, reg *ocitest.Registry, repoTag string, files ...ocitest.File) ocispec.Descriptor {
	t.Helper()
	m, err := reg.Push(context.Background(), repoTag, files...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
