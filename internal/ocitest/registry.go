// Package ocitest is a minimal OCI distribution-spec registry on 127.0.0.1 and a push helper
// built on oras-go, so that the tests of agent/image and of the agent pull artifacts over a
// real client's wire traffic without any network.
package ocitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// Registry serves the /v2/ check, monolithic blob upload (POST then PUT ?digest=, or POST
// ?digest=), HEAD/GET of blobs and manifests, PUT of manifests by tag or digest, and optional
// basic auth: just enough for oras-go to push and pull an artifact.
type Registry struct {
	srv        *httptest.Server
	user, pass string // "" for none

	mu        sync.Mutex
	blobs     map[string][]byte // digest -> content
	manifests map[string]stored // digest or "repo:tag" -> manifest
	uploads   atomic.Int64

	// BlobGets counts GET requests of blobs, so a test can tell a cache hit from a download.
	BlobGets atomic.Int64
	// ManifestGets counts GET requests of manifests.
	ManifestGets atomic.Int64
}

type stored struct {
	mediaType string
	body      []byte
}

// NewRegistry starts a registry on 127.0.0.1 (plain HTTP); with a user it requires basic auth.
// Close stops it.
func NewRegistry(user, pass string) *Registry {
	r := &Registry{user: user, pass: pass, blobs: map[string][]byte{}, manifests: map[string]stored{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

// Close stops the server.
func (r *Registry) Close() { r.srv.Close() }

// Host is the registry's host:port, on 127.0.0.1 so that clients speak plain HTTP to it.
func (r *Registry) Host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// Digest is "sha256:" and the hex sha256 of b, as registries name content.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// File is one file to put in an artifact, as `oras push ref title:mediaType` would.
type File struct {
	Title, MediaType string
	Data             []byte
}

// Push packs files into an artifact manifest (artifact type application/vnd.ecufleet.image)
// with oras-go and copies it to the registry as repoTag ("repo:tag"), returning the manifest's
// descriptor.
func (r *Registry) Push(ctx context.Context, repoTag string, files ...File) (ocispec.Descriptor, error) {
	store := memory.New()
	var layers []ocispec.Descriptor
	for _, f := range files {
		desc := content.NewDescriptorFromBytes(f.MediaType, f.Data)
		desc.Annotations = map[string]string{ocispec.AnnotationTitle: f.Title}
		if err := store.Push(ctx, desc, bytes.NewReader(f.Data)); err != nil {
			return ocispec.Descriptor{}, err
		}
		layers = append(layers, desc)
	}
	manifest, err := oras.PackManifest(ctx, store, oras.PackManifestVersion1_1, "application/vnd.ecufleet.image", oras.PackManifestOptions{Layers: layers})
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	repoName, tag, ok := strings.Cut(repoTag, ":")
	if !ok {
		return ocispec.Descriptor{}, fmt.Errorf("push %q: want repo:tag", repoTag)
	}
	if err := store.Tag(ctx, manifest, tag); err != nil {
		return ocispec.Descriptor{}, err
	}
	dst, err := remote.NewRepository(r.Host() + "/" + repoName)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	dst.PlainHTTP = true
	if r.user != "" {
		dst.Client = &auth.Client{Cache: auth.NewCache(), Credential: auth.StaticCredential(r.Host(), auth.Credential{Username: r.user, Password: r.pass})}
	}
	if _, err := oras.Copy(ctx, store, tag, dst, tag, oras.DefaultCopyOptions); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("oras push to the test registry: %w", err)
	}
	return manifest, nil
}

// CorruptBlob replaces a stored blob's bytes, keeping its digest key, like a bad mirror.
func (r *Registry) CorruptBlob(digest string, b []byte) {
	r.mu.Lock()
	r.blobs[digest] = b
	r.mu.Unlock()
}

// ServeManifestAs answers requests for the manifest digest with the manifest other, like a
// registry that serves the wrong content under a pinned digest.
func (r *Registry) ServeManifestAs(digest, other string) {
	r.mu.Lock()
	r.manifests[digest] = r.manifests[other]
	r.mu.Unlock()
}

func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	if r.user != "" {
		u, p, ok := req.BasicAuth()
		if !ok || u != r.user || p != r.pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
	}
	path := req.URL.Path
	if path == "/v2/" || path == "/v2" {
		w.WriteHeader(http.StatusOK)
		return
	}
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		http.NotFound(w, req)
		return
	}
	switch {
	case strings.HasSuffix(rest, "/blobs/uploads/") && req.Method == http.MethodPost:
		if d := req.URL.Query().Get("digest"); d != "" {
			r.putBlob(w, req, d)
			return
		}
		repo := strings.TrimSuffix(rest, "/blobs/uploads/")
		w.Header().Set("Location", fmt.Sprintf("/v2/%s/blobs/uploads/%d", repo, r.uploads.Add(1)))
		w.WriteHeader(http.StatusAccepted)
	case strings.Contains(rest, "/blobs/uploads/") && req.Method == http.MethodPut:
		r.putBlob(w, req, req.URL.Query().Get("digest"))
	case strings.Contains(rest, "/blobs/"):
		r.getBlob(w, req, rest)
	case strings.Contains(rest, "/manifests/"):
		r.manifest(w, req, rest)
	default:
		http.NotFound(w, req)
	}
}

func (r *Registry) getBlob(w http.ResponseWriter, req *http.Request, rest string) {
	_, d, _ := strings.Cut(rest, "/blobs/")
	if b, ok := lookup(r, r.blobs, d); ok {
		serveContent(w, req, &r.BlobGets, "application/octet-stream", d, b)
		return
	}
	http.Error(w, `{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}`, http.StatusNotFound)
}

// lookup reads m[key] under the registry's lock.
func lookup[V any](r *Registry, m map[string]V, key string) (V, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := m[key]
	return v, ok
}

// serveContent answers a HEAD or GET of stored content, counting the GETs in gets.
func serveContent(w http.ResponseWriter, req *http.Request, gets *atomic.Int64, mediaType, digest string, body []byte) {
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Docker-Content-Digest", digest)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if req.Method == http.MethodGet {
		gets.Add(1)
		w.Write(body)
	}
}

func (r *Registry) manifest(w http.ResponseWriter, req *http.Request, rest string) {
	repo, ref, _ := strings.Cut(rest, "/manifests/")
	key := ref
	if !strings.HasPrefix(ref, "sha256:") {
		key = repo + ":" + ref
	}
	if req.Method == http.MethodPut {
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m := stored{mediaType: req.Header.Get("Content-Type"), body: body}
		d := Digest(body)
		r.mu.Lock()
		r.manifests[d] = m
		r.manifests[key] = m
		r.mu.Unlock()
		w.Header().Set("Docker-Content-Digest", d)
		w.WriteHeader(http.StatusCreated)
		return
	}
	if m, ok := lookup(r, r.manifests, key); ok {
		serveContent(w, req, &r.ManifestGets, m.mediaType, Digest(m.body), m.body)
		return
	}
	http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`, http.StatusNotFound)
}

// putBlob stores a monolithic upload after checking its digest, as a registry must.
func (r *Registry) putBlob(w http.ResponseWriter, req *http.Request, d string) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if Digest(body) != d {
		http.Error(w, `{"errors":[{"code":"DIGEST_INVALID","message":"digest mismatch"}]}`, http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.blobs[d] = body
	r.mu.Unlock()
	repo, _, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/v2/"), "/blobs/")
	w.Header().Set("Location", "/v2/"+repo+"/blobs/"+d)
	w.Header().Set("Docker-Content-Digest", d)
	w.WriteHeader(http.StatusCreated)
}
