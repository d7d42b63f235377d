package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
)

func (f *Fetcher) fetchHTTP(ctx context.Context, src *HTTPSource) (*Result, error) {
	want, err := parseSHA256(src.SHA256)
	if err != nil {
		return nil, invalidf("http %s: %w", src.URL, err)
	}
	digest := "sha256:" + want
	name := src.URL
	if u, err := url.Parse(src.URL); err == nil {
		name = path.Base(u.Path)
	}
	if res := f.fromCache(digest, name); res != nil {
		return res, nil
	}
	data, err := f.download(ctx, src.URL, want)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	f.toCache(digest, data)
	return &Result{Data: data, Digest: digest, Name: name}, nil
}

// download streams rawURL into memory, at most MaxBytes, hashing as it reads, and returns the
// bytes only when their sha256 is want.
func (f *Fetcher) download(ctx context.Context, rawURL, want string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, invalidf("http rawURL %q: %w", rawURL, err)
	}
	resp, err := f.httpClient().Do(req)
	if err != nil {
		return nil, unavailablef("GET %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, unavailablef("GET %s: %s; check the URL and that the server holds the file", rawURL, resp.Status)
	}
	max := f.maxBytes()
	if resp.ContentLength > max {
		return nil, invalidf("GET %s: %d bytes, more than the %d allowed", rawURL, resp.ContentLength, max)
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(resp.ContentLength))
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(&buf, h), io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, unavailablef("GET %s: reading the body after %d bytes: %w", rawURL, n, err)
	}
	if n > max {
		return nil, invalidf("GET %s: more than the %d bytes allowed", rawURL, max)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return nil, invalidf("GET %s: sha256 is %s, want %s; the file changed or the digest is wrong", rawURL, got, want)
	}
	return buf.Bytes(), nil
}

// parseSHA256 accepts 64 hex digits, optionally after "sha256:", and returns them lower-case.
func parseSHA256(s string) (string, error) {
	s = strings.TrimPrefix(strings.ToLower(s), "sha256:")
	if len(s) != sha256.Size*2 {
		return "", fmt.Errorf("sha256 %q has %d characters, want 64 hex digits", s, len(s))
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", fmt.Errorf("sha256 %q is not hex: want 64 hex digits", s)
	}
	return s, nil
}
