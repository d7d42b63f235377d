package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-logr/logr"

	"github.com/ecufleet/ecufleet/pkg/flashimage"
)

// DefaultMaxBytes bounds an image file when Fetcher.MaxBytes is zero: flashimage's bound on
// data bytes, since a file never holds fewer bytes than its data.
const DefaultMaxBytes = flashimage.DefaultMaxSize

// defaultHTTPClient gives up on a source that stops answering instead of hanging a step.
var defaultHTTPClient = &http.Client{Timeout: 5 * time.Minute}

// Fetcher fetches, verifies and parses images; one Fetcher (and so one Cache) serves the
// whole agent. The zero value fetches http and oci sources without a cache.
type Fetcher struct {
	// HTTPClient makes HTTP and registry requests; nil uses a client with a 5 minute timeout.
	HTTPClient *http.Client
	// MaxBytes bounds the image file; 0 means DefaultMaxBytes.
	MaxBytes int64
	// Cache keeps fetched files by digest; nil fetches every time.
	Cache *Cache
	// ConfigMaps reads configMap sources; nil refuses them.
	ConfigMaps ConfigMapReader
	// PullSecrets reads OCI pull secrets; nil refuses sources that name one.
	PullSecrets PullSecretReader
	// Log receives cache events; the zero Logger discards them.
	Log logr.Logger
}

// Result is a fetched, verified and parsed image.
type Result struct {
	// Data is the file as fetched.
	Data []byte
	// Digest is the file's digest, "sha256:" and 64 hex digits.
	Digest string
	// Name is the file name where the source gives one (OCI title, URL path, ConfigMap key).
	Name string
	// Format is the format the file was parsed as.
	Format flashimage.Format
	// Image holds the segments to flash.
	Image *flashimage.Image
	// Cached says the bytes came from the cache.
	Cached bool
}

// Fetch returns src's image, verified and parsed. Errors wrap ErrImageInvalid (do not retry)
// or ErrImageUnavailable (retry may help); a context error is returned as it is.
func (f *Fetcher) Fetch(ctx context.Context, src Source) (*Result, error) {
	var (
		res *Result
		err error
	)
	switch n := countSources(src); {
	case n != 1:
		return nil, invalidf("source names %d of http, oci and configMap: want exactly one", n)
	case src.HTTP != nil:
		res, err = f.fetchHTTP(ctx, src.HTTP)
	case src.OCI != nil:
		res, err = f.fetchOCI(ctx, src.Namespace, src.OCI)
	default:
		res, err = f.fetchConfigMap(ctx, src.Namespace, src.ConfigMap)
	}
	if err != nil {
		return nil, err
	}
	format := src.Format
	if format == "" || format == flashimage.FormatAuto {
		format = res.Format // the OCI title's extension, when it says
	}
	if format == "" || format == flashimage.FormatAuto {
		format = flashimage.Detect(res.Data)
	}
	img, err := flashimage.Parse(res.Data, flashimage.Options{Format: format, Address: src.Address, MaxSize: f.maxBytes()})
	if err != nil {
		return nil, invalidf("%s (%s): %w", res.Name, res.Digest, err)
	}
	res.Format, res.Image = format, img
	return res, nil
}

func countSources(src Source) int {
	n := 0
	for _, set := range []bool{src.HTTP != nil, src.OCI != nil, src.ConfigMap != nil} {
		if set {
			n++
		}
	}
	return n
}

func (f *Fetcher) maxBytes() int64 {
	if f.MaxBytes > 0 {
		return f.MaxBytes
	}
	return DefaultMaxBytes
}

func (f *Fetcher) httpClient() *http.Client {
	if f.HTTPClient != nil {
		return f.HTTPClient
	}
	return defaultHTTPClient
}

// fromCache returns the cached file for digest ("sha256:<hex>"), or nil.
func (f *Fetcher) fromCache(digest, name string) *Result {
	if f.Cache == nil {
		return nil
	}
	data, ok, err := f.Cache.Get(digest)
	if err != nil {
		f.Log.Error(err, "Image cache read failed; fetching again", "digest", digest)
	}
	if !ok {
		return nil
	}
	return &Result{Data: data, Digest: digest, Name: name, Cached: true}
}

// toCache stores a verified file; a cache that cannot write only costs a refetch later.
func (f *Fetcher) toCache(digest string, data []byte) {
	if f.Cache == nil {
		return
	}
	if err := f.Cache.Put(digest, data); err != nil {
		f.Log.Error(err, "Image cache write failed; the image will be fetched again next time", "digest", digest)
	}
}

func (f *Fetcher) fetchConfigMap(ctx context.Context, namespace string, cm *ConfigMapSource) (*Result, error) {
	if f.ConfigMaps == nil {
		return nil, unavailablef("configMap %s/%s: this agent has no ConfigMap reader", namespace, cm.Name)
	}
	data, err := f.ConfigMaps.BinaryData(ctx, namespace, cm.Name, cm.Key)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, unavailablef("configMap %s/%s key %q: %w", namespace, cm.Name, cm.Key, err)
	}
	if int64(len(data)) > f.maxBytes() {
		return nil, invalidf("configMap %s/%s key %q holds %d bytes, more than the %d allowed", namespace, cm.Name, cm.Key, len(data), f.maxBytes())
	}
	sum := sha256.Sum256(data)
	return &Result{Data: data, Digest: "sha256:" + hex.EncodeToString(sum[:]), Name: cm.Key}, nil
}

// ctxErr prefers the context's error, so a cancelled step is not reported as a bad source.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ErrImageInvalid) {
		return fmt.Errorf("fetching image: %w", ctx.Err())
	}
	return err
}
