package image

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecufleet/ecufleet/pkg/flashimage"
)

func TestFetchHTTPGoodDigest(t *testing.T) {
	data, file := testImage()
	srv, _ := fileServer(t, file)
	var f Fetcher
	res, err := f.Fetch(context.Background(), Source{HTTP: &HTTPSource{URL: srv.URL + "/app.hex", SHA256: sha256Hex(file)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != flashimage.FormatIHex {
		t.Errorf("format %q, want ihex (detected from content)", res.Format)
	}
	if res.Digest != "sha256:"+sha256Hex(file) || res.Name != "app.hex" || res.Cached {
		t.Errorf("result digest %s name %q cached %v", res.Digest, res.Name, res.Cached)
	}
	segs := res.Image.Segments
	if len(segs) != 1 || segs[0].Address != 0x00010000 || !bytes.Equal(segs[0].Data, data) {
		t.Fatalf("segments %+v, want one of 100 bytes at 0x10000", segs)
	}
}

// A digest mismatch is ErrImageInvalid and the parser never sees the bytes: the served
// file is not even Intel HEX, so a parse would fail with a flashimage.Error instead.
func TestFetchHTTPBadDigest(t *testing.T) {
	_, file := testImage()
	bad := append([]byte(nil), file...)
	bad[5] = 'Z' // a broken record that would make the parser refuse it
	srv, _ := fileServer(t, bad)
	var f Fetcher
	_, err := f.Fetch(context.Background(), Source{HTTP: &HTTPSource{URL: srv.URL + "/app.hex", SHA256: sha256Hex(file)}})
	if !errors.Is(err, ErrImageInvalid) || errors.Is(err, ErrImageUnavailable) {
		t.Fatalf("err %v, want ErrImageInvalid only", err)
	}
	var perr *flashimage.Error
	if errors.As(err, &perr) {
		t.Fatalf("err %v wraps a parse error: the parser ran on unverified bytes", err)
	}
	if !strings.Contains(err.Error(), "sha256 is "+sha256Hex(bad)) {
		t.Errorf("err %q does not name the digest it got", err)
	}
}

func TestFetchHTTPNotFoundIsRetryable(t *testing.T) {
	srv, _ := fileServer(t, nil)
	var f Fetcher
	url := srv.URL + "/missing.hex"
	_, err := f.Fetch(context.Background(), Source{HTTP: &HTTPSource{URL: url, SHA256: strings.Repeat("ab", 32)}})
	if !errors.Is(err, ErrImageUnavailable) || errors.Is(err, ErrImageInvalid) {
		t.Fatalf("err %v, want ErrImageUnavailable only", err)
	}
	if !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), "404") {
		t.Errorf("err %q does not name the URL and the status", err)
	}
}

func TestFetchHTTPConnectionRefusedIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/app.hex"
	srv.Close()
	var f Fetcher
	_, err := f.Fetch(context.Background(), Source{HTTP: &HTTPSource{URL: url, SHA256: strings.Repeat("ab", 32)}})
	if !errors.Is(err, ErrImageUnavailable) || !strings.Contains(err.Error(), url) {
		t.Fatalf("err %v, want ErrImageUnavailable naming %s", err, url)
	}
}

func TestFetchHTTPSizeBound(t *testing.T) {
	_, file := testImage()
	// One server announces its length, the other streams without one (chunked), so both
	// the early refusal and the bound while reading are exercised.
	announced, _ := fileServer(t, file)
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(file); i += 10 {
			w.Write(file[i:min(i+10, len(file))])
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(chunked.Close)
	f := Fetcher{MaxBytes: int64(len(file)) - 1}
	for _, url := range []string{announced.URL + "/app.hex", chunked.URL + "/app.hex"} {
		_, err := f.Fetch(context.Background(), Source{HTTP: &HTTPSource{URL: url, SHA256: sha256Hex(file)}})
		if !errors.Is(err, ErrImageInvalid) || !strings.Contains(err.Error(), "allowed") {
			t.Errorf("%s: err %v, want ErrImageInvalid for a file over the bound", url, err)
		}
	}
	f.MaxBytes = int64(len(file))
	if _, err := f.Fetch(context.Background(), Source{HTTP: &HTTPSource{URL: chunked.URL + "/app.hex", SHA256: sha256Hex(file)}}); err != nil {
		t.Errorf("a file of exactly MaxBytes: %v", err)
	}
}

func TestFetchHTTPBadSHA256Field(t *testing.T) {
	srv, hits := fileServer(t, nil)
	var f Fetcher
	for _, sum := range []string{"", "abc", strings.Repeat("zz", 32)} {
		_, err := f.Fetch(context.Background(), Source{HTTP: &HTTPSource{URL: srv.URL + "/app.hex", SHA256: sum}})
		if !errors.Is(err, ErrImageInvalid) || !strings.Contains(err.Error(), "64 hex digits") {
			t.Errorf("sha256 %q: err %v, want ErrImageInvalid asking for 64 hex digits", sum, err)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests made for an unusable digest, want 0", hits.Load())
	}
}

func TestFetchParseErrorIsInvalid(t *testing.T) {
	_, file := testImage()
	bad := bytes.Replace(file, []byte(":00000001FF"), nil, 1) // no end-of-file record
	srv, _ := fileServer(t, bad)
	var f Fetcher
	_, err := f.Fetch(context.Background(), Source{HTTP: &HTTPSource{URL: srv.URL + "/app.hex", SHA256: sha256Hex(bad)}, Format: flashimage.FormatIHex})
	var perr *flashimage.Error
	if !errors.Is(err, ErrImageInvalid) || !errors.As(err, &perr) {
		t.Fatalf("err %v, want ErrImageInvalid wrapping a flashimage.Error", err)
	}
}

func TestFetchSourceCount(t *testing.T) {
	var f Fetcher
	for _, src := range []Source{{}, {HTTP: &HTTPSource{}, ConfigMap: &ConfigMapSource{}}} {
		if _, err := f.Fetch(context.Background(), src); !errors.Is(err, ErrImageInvalid) {
			t.Errorf("%+v: err %v, want ErrImageInvalid", src, err)
		}
	}
}

func TestFetchHTTPNameIgnoresQuery(t *testing.T) {
	_, file := testImage()
	srv, _ := fileServer(t, file)
	var f Fetcher
	res, err := f.Fetch(context.Background(), Source{HTTP: &HTTPSource{URL: srv.URL + "/app.hex?token=x", SHA256: "SHA256:" + strings.ToUpper(sha256Hex(file))}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != "app.hex" || res.Digest != "sha256:"+sha256Hex(file) {
		t.Errorf("name %q digest %s", res.Name, res.Digest)
	}
}
