package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecufleet/ecufleet/internal/ocitest"
)

func TestCacheSecondFetchHits(t *testing.T) {
	_, file := testImage()
	srv, hits := fileServer(t, file)
	f := Fetcher{Cache: &Cache{Dir: t.TempDir(), MaxBytes: 1 << 20}}
	src := Source{HTTP: &HTTPSource{URL: srv.URL + "/app.hex", SHA256: sha256Hex(file)}}
	first, err := f.Fetch(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.Fetch(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 1 || first.Cached || !second.Cached {
		t.Fatalf("%d requests, cached %v then %v; want 1 request and the second from the cache", hits.Load(), first.Cached, second.Cached)
	}
	if !bytes.Equal(first.Image.Segments[0].Data, second.Image.Segments[0].Data) {
		t.Fatal("the cached image parses differently")
	}
}

func TestCacheOCILayerHits(t *testing.T) {
	reg := newTestRegistry(t, "", "")
	_, file := testImage()
	push(t, reg, "ecu/app:1.0", ocitest.File{Title: "app.hex", MediaType: "application/vnd.ecufleet.image.ihex", Data: file})
	f := Fetcher{Cache: &Cache{Dir: t.TempDir(), MaxBytes: 1 << 20}}
	src := Source{OCI: &OCISource{Ref: reg.Host() + "/ecu/app:1.0"}}
	for i := 0; i < 2; i++ {
		if _, err := f.Fetch(context.Background(), src); err != nil {
			t.Fatal(err)
		}
	}
	// The manifest is read each time (a tag may move); the layer only once.
	if reg.BlobGets.Load() != 1 || reg.ManifestGets.Load() != 2 {
		t.Fatalf("%d blob and %d manifest downloads, want 1 and 2", reg.BlobGets.Load(), reg.ManifestGets.Load())
	}
}

func TestCacheCorruptFileRefetched(t *testing.T) {
	_, file := testImage()
	srv, hits := fileServer(t, file)
	dir := t.TempDir()
	f := Fetcher{Cache: &Cache{Dir: dir, MaxBytes: 1 << 20}}
	src := Source{HTTP: &HTTPSource{URL: srv.URL + "/app.hex", SHA256: sha256Hex(file)}}
	if _, err := f.Fetch(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, sha256Hex(file))
	if err := os.WriteFile(p, bytes.ToLower(file), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := f.Fetch(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 2 || res.Cached {
		t.Fatalf("%d requests, cached %v: want the corrupt file refetched", hits.Load(), res.Cached)
	}
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, file) {
		t.Fatalf("cache file after refetch: %v, equal %v", err, bytes.Equal(got, file))
	}
}

func blob(i, n int) ([]byte, string) {
	b := bytes.Repeat([]byte{byte(i)}, n)
	return b, ocitest.Digest(b)
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	c := &Cache{Dir: dir, MaxBytes: 250}
	a, da := blob(1, 100)
	b, db := blob(2, 100)
	d, dd := blob(3, 100)
	for _, p := range []struct {
		data   []byte
		digest string
	}{{a, da}, {b, db}} {
		if err := c.Put(p.digest, p.data); err != nil {
			t.Fatal(err)
		}
	}
	// Age both, then use a: b is now the least recently used.
	old := time.Now().Add(-time.Hour)
	for _, dg := range []string{da, db} {
		os.Chtimes(filepath.Join(dir, strings.TrimPrefix(dg, "sha256:")), old, old)
	}
	if _, ok, err := c.Get(da); !ok || err != nil {
		t.Fatalf("get a: ok %v err %v", ok, err)
	}
	if err := c.Put(dd, d); err != nil {
		t.Fatal(err)
	}
	for dg, want := range map[string]bool{da: true, db: false, dd: true} {
		if _, ok, _ := c.Get(dg); ok != want {
			t.Errorf("%s cached %v, want %v", dg[:15], ok, want)
		}
	}
	var total int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		info, _ := e.Info()
		total += info.Size()
	}
	if total > c.MaxBytes {
		t.Errorf("cache holds %d bytes, more than MaxBytes %d", total, c.MaxBytes)
	}
}

func TestCacheRefusesOversizeAndBadDigests(t *testing.T) {
	dir := t.TempDir()
	c := &Cache{Dir: dir, MaxBytes: 50}
	big, dbig := blob(1, 51)
	if err := c.Put(dbig, big); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Get(dbig); ok {
		t.Error("a file larger than MaxBytes was kept")
	}
	for _, dg := range []string{"", "md5:abc", "sha256:../../etc/passwd", "sha256:" + strings.Repeat("A", 64)} {
		if err := c.Put(dg, nil); err == nil {
			t.Errorf("Put(%q) accepted", dg)
		}
		if _, _, err := c.Get(dg); err == nil {
			t.Errorf("Get(%q) accepted", dg)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("cache dir holds %d entries, want none (no temp files left)", len(entries))
	}
}

// configMaps serves binaryData by namespace/name/key.
type configMaps map[string][]byte

func (m configMaps) BinaryData(_ context.Context, namespace, name, key string) ([]byte, error) {
	b, ok := m[namespace+"/"+name+"/"+key]
	if !ok {
		return nil, fmt.Errorf("configmap %s/%s has no binaryData key %q", namespace, name, key)
	}
	return b, nil
}

func TestFetchConfigMap(t *testing.T) {
	data, file := testImage()
	f := Fetcher{ConfigMaps: configMaps{"lab/app-image/app.hex": file}, MaxBytes: int64(len(file))}
	res, err := f.Fetch(context.Background(), Source{Namespace: "lab", ConfigMap: &ConfigMapSource{Name: "app-image", Key: "app.hex"}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Image.Segments[0].Data, data) || res.Digest != ocitest.Digest(file) || res.Name != "app.hex" {
		t.Fatalf("result %+v", res)
	}
	_, err = f.Fetch(context.Background(), Source{Namespace: "lab", ConfigMap: &ConfigMapSource{Name: "app-image", Key: "other.hex"}})
	if !errors.Is(err, ErrImageUnavailable) {
		t.Errorf("missing key: err %v, want ErrImageUnavailable", err)
	}
	f.MaxBytes--
	_, err = f.Fetch(context.Background(), Source{Namespace: "lab", ConfigMap: &ConfigMapSource{Name: "app-image", Key: "app.hex"}})
	if !errors.Is(err, ErrImageInvalid) {
		t.Errorf("over the bound: err %v, want ErrImageInvalid", err)
	}
}
