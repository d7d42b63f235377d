package image

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/ecufleet/ecufleet/pkg/flashimage"
)

// maxManifestBytes bounds the manifest of an image artifact; one layer needs far less.
const maxManifestBytes = 1 << 20

func (f *Fetcher) fetchOCI(ctx context.Context, namespace string, src *OCISource) (*Result, error) {
	repo, err := remote.NewRepository(src.Ref)
	if err != nil {
		return nil, invalidf("oci ref %q: %w; want registry/repository:tag or @sha256:...", src.Ref, err)
	}
	repo.PlainHTTP = isLoopback(repo.Reference.Registry)
	repo.MaxMetadataBytes = maxManifestBytes
	client := &auth.Client{Client: f.httpClient(), Cache: auth.NewCache()}
	if src.PullSecretName != "" {
		if f.PullSecrets == nil {
			return nil, unavailablef("oci %s: pull secret %s/%s named but this agent has no Secret reader", src.Ref, namespace, src.PullSecretName)
		}
		cfg, err := f.PullSecrets.DockerConfigJSON(ctx, namespace, src.PullSecretName)
		if err != nil {
			return nil, ctxErr(ctx, unavailablef("oci %s: reading pull secret %s/%s: %w", src.Ref, namespace, src.PullSecretName, err))
		}
		cred, err := credentialFor(cfg, repo.Reference.Host())
		if err != nil {
			return nil, unavailablef("oci %s: secret %s/%s: %w", src.Ref, namespace, src.PullSecretName, err)
		}
		client.Credential = auth.StaticCredential(repo.Reference.Host(), cred)
	}
	repo.Client = client

	manifest, err := f.manifest(ctx, repo, src.Ref)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	if n := len(manifest.Layers); n != 1 {
		return nil, invalidf("oci %s: the manifest has %d layers, want exactly one (the image file)", src.Ref, n)
	}
	layer := manifest.Layers[0]
	name := layer.Annotations[ocispec.AnnotationTitle]
	if max := f.maxBytes(); layer.Size > max || layer.Size < 0 {
		return nil, invalidf("oci %s: layer %s is %d bytes, more than the %d allowed", src.Ref, name, layer.Size, max)
	}
	if err := layer.Digest.Validate(); err != nil || layer.Digest.Algorithm() != "sha256" {
		return nil, invalidf("oci %s: layer digest %q: want sha256:<64 hex digits>", src.Ref, layer.Digest)
	}
	digest := layer.Digest.String()
	res := f.fromCache(digest, name)
	if res == nil {
		rc, err := repo.Fetch(ctx, layer)
		if err != nil {
			return nil, ctxErr(ctx, registryError(src.Ref, "layer "+digest, err))
		}
		data, err := content.ReadAll(rc, layer) // checks size and digest
		rc.Close()
		if err != nil {
			return nil, ctxErr(ctx, readError(src.Ref, "layer "+digest, err))
		}
		f.toCache(digest, data)
		res = &Result{Data: data, Digest: digest, Name: name}
	}
	res.Format = flashimage.FormatFromName(name)
	return res, nil
}

// manifest fetches and decodes the image manifest, checking a pinned digest.
func (f *Fetcher) manifest(ctx context.Context, repo *remote.Repository, ref string) (*ocispec.Manifest, error) {
	desc, rc, err := repo.FetchReference(ctx, repo.Reference.ReferenceOrDefault())
	if err != nil {
		return nil, registryError(ref, "manifest", err)
	}
	defer rc.Close()
	if desc.Size > maxManifestBytes {
		return nil, invalidf("oci %s: manifest is %d bytes, more than %d", ref, desc.Size, maxManifestBytes)
	}
	if pinned, err := repo.Reference.Digest(); err == nil && desc.Digest != pinned {
		return nil, invalidf("oci %s: the registry answered manifest %s, want %s", ref, desc.Digest, pinned)
	}
	raw, err := content.ReadAll(rc, desc) // checks the digest the registry gave (or the pinned one)
	if err != nil {
		return nil, readError(ref, "manifest", err)
	}
	if desc.MediaType != ocispec.MediaTypeImageManifest {
		return nil, invalidf("oci %s: manifest media type %q, want %s (push the image with oras push)", ref, desc.MediaType, ocispec.MediaTypeImageManifest)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, invalidf("oci %s: manifest: %w", ref, err)
	}
	return &m, nil
}

// registryError sorts a registry failure: a missing ref or a refusal is unavailable, named
// with what to check.
func registryError(ref, what string, err error) error {
	var resp *errcode.ErrorResponse
	switch {
	case errors.Is(err, auth.ErrBasicCredentialNotFound):
		return unavailablef("oci %s: the registry requires credentials (401) for the %s and none were given for it; set a pull secret with an entry for this registry: %w", ref, what, err)
	case strings.Contains(err.Error(), "digest mismatch"):
		// oras-go reports a Docker-Content-Digest other than the pinned digest without a
		// sentinel error; the registry is serving other bytes than the ref pins.
		return invalidf("oci %s: the registry's %s is not the one the ref pins: %w", ref, what, err)
	case errors.Is(err, errdef.ErrNotFound):
		return unavailablef("oci %s: %s not found; check the ref and that it was pushed: %w", ref, what, err)
	case errors.As(err, &resp) && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden):
		return unavailablef("oci %s: the registry refused access to the %s (%d %s); check the pull secret's credentials for this registry: %w",
			ref, what, resp.StatusCode, http.StatusText(resp.StatusCode), err)
	}
	return unavailablef("oci %s: fetching the %s: %w", ref, what, err)
}

// readError sorts a failure while reading content: wrong bytes are invalid, a broken
// connection is unavailable.
func readError(ref, what string, err error) error {
	if errors.Is(err, content.ErrMismatchedDigest) || errors.Is(err, content.ErrTrailingData) || errors.Is(err, errdef.ErrInvalidDigest) {
		return invalidf("oci %s: %s: %w", ref, what, err)
	}
	return unavailablef("oci %s: reading the %s: %w", ref, what, err)
}

// isLoopback says a registry host[:port] is this machine, which is spoken to in plain HTTP.
func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
