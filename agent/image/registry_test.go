package image

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// testRegistry is a minimal OCI distribution-spec registry: the /v2/ check, monolithic blob
// upload (POST then PUT ?digest=, or POST ?digest=), HEAD/GET of blobs and manifests, PUT of
// manifests by tag or digest, and optional basic auth. It is just enough for oras-go to push
// and pull an artifact, so the Fetcher is tested against a real client's wire traffic.
type testRegistry struct {
	srv        *httptest.Server
	user, pass string // "" for none

	mu        sync.Mutex
	blobs     map[string][]byte // digest -> content
	manifests map[string]stored // digest or "repo:tag" -> manifest
	uploads   atomic.Int64

	blobGets     atomic.Int64
	manifestGets atomic.Int64
}

type stored struct {
	mediaType string
	body      []byte
}

func newTestRegistry(t *testing.T, user, pass string) *testRegistry {
	t.Helper()
	r := &testRegistry{user: user, pass: pass, blobs: map[string][]byte{}, manifests: map[string]stored{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// host is the registry's host:port, 127.0.0.1 so the Fetcher speaks plain HTTP to it.
func (r *testRegistry) host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (r *testRegistry) serve(w http.ResponseWriter, req *http.Request) {
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
		_, d, _ := strings.Cut(rest, "/blobs/")
		r.mu.Lock()
		b, ok := r.blobs[d]
		r.mu.Unlock()
		if !ok {
			http.Error(w, `{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}`, http.StatusNotFound)
			return
		}
		if req.Method == http.MethodGet {
			r.blobGets.Add(1)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Docker-Content-Digest", d)
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		if req.Method == http.MethodGet {
			w.Write(b)
		}
	case strings.Contains(rest, "/manifests/"):
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
			d := digestOf(body)
			r.mu.Lock()
			r.manifests[d] = m
			r.manifests[key] = m
			r.mu.Unlock()
			w.Header().Set("Docker-Content-Digest", d)
			w.WriteHeader(http.StatusCreated)
			return
		}
		r.mu.Lock()
		m, ok := r.manifests[key]
		r.mu.Unlock()
		if !ok {
			http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`, http.StatusNotFound)
			return
		}
		if req.Method == http.MethodGet {
			r.manifestGets.Add(1)
		}
		w.Header().Set("Content-Type", m.mediaType)
		w.Header().Set("Docker-Content-Digest", digestOf(m.body))
		w.Header().Set("Content-Length", fmt.Sprint(len(m.body)))
		if req.Method == http.MethodGet {
			w.Write(m.body)
		}
	default:
		http.NotFound(w, req)
	}
}

// putBlob stores a monolithic upload after checking its digest, as a registry must.
func (r *testRegistry) putBlob(w http.ResponseWriter, req *http.Request, d string) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if digestOf(body) != d {
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

// corruptBlob replaces a stored blob's bytes, keeping its digest key, like a bad mirror.
func (r *testRegistry) corruptBlob(d string, b []byte) {
	r.mu.Lock()
	r.blobs[d] = b
	r.mu.Unlock()
}
