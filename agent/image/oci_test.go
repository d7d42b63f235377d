package image

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ecufleet/ecufleet/internal/ocitest"
	"github.com/ecufleet/ecufleet/pkg/flashimage"
)

// secrets serves dockerconfigjson bytes by Secret name.
type secrets map[string][]byte

func (s secrets) DockerConfigJSON(_ context.Context, namespace, name string) ([]byte, error) {
	b, ok := s[namespace+"/"+name]
	if !ok {
		return nil, fmt.Errorf("secret %s/%s not found", namespace, name)
	}
	return b, nil
}

func dockerConfigJSON(host, user, pass string) []byte {
	a := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	return []byte(fmt.Sprintf(`{"auths":{"http://%s/v1/":{"auth":%q}}}`, host, a))
}

func TestFetchOCITitleGivesFormat(t *testing.T) {
	reg := newTestRegistry(t, "", "")
	// Raw bytes that happen to read as Intel HEX: only the title (.bin) says they are binary.
	_, hexFile := testImage()
	push(t, reg, "ecu/app:1.0", ocitest.File{Title: "app.bin", MediaType: "application/vnd.ecufleet.image.bin", Data: hexFile})
	var f Fetcher
	res, err := f.Fetch(context.Background(), Source{OCI: &OCISource{Ref: reg.Host() + "/ecu/app:1.0"}, Address: 0x8000})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != flashimage.FormatBin || res.Name != "app.bin" || res.Digest != ocitest.Digest(hexFile) {
		t.Fatalf("format %q name %q digest %s, want bin from the title", res.Format, res.Name, res.Digest)
	}
	if segs := res.Image.Segments; len(segs) != 1 || segs[0].Address != 0x8000 || !bytes.Equal(segs[0].Data, hexFile) {
		t.Fatalf("segments %+v", segs)
	}

	data, _ := testImage()
	push(t, reg, "ecu/app:2.0", ocitest.File{Title: "app.hex", MediaType: "application/vnd.ecufleet.image.ihex", Data: hexFile})
	res, err = f.Fetch(context.Background(), Source{OCI: &OCISource{Ref: reg.Host() + "/ecu/app:2.0"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != flashimage.FormatIHex || !bytes.Equal(res.Image.Segments[0].Data, data) {
		t.Fatalf("format %q, want ihex from app.hex", res.Format)
	}
}

func TestFetchOCIPinnedDigest(t *testing.T) {
	reg := newTestRegistry(t, "", "")
	_, file := testImage()
	m := push(t, reg, "ecu/app:1.0", ocitest.File{Title: "app.hex", MediaType: "application/vnd.ecufleet.image.ihex", Data: file})
	var f Fetcher
	if _, err := f.Fetch(context.Background(), Source{OCI: &OCISource{Ref: reg.Host() + "/ecu/app@" + m.Digest.String()}}); err != nil {
		t.Fatalf("pinned by its digest: %v", err)
	}
	// A registry that answers a pinned ref with other bytes is refused.
	other := push(t, reg, "ecu/app:2.0", ocitest.File{Title: "app2.hex", MediaType: "application/vnd.ecufleet.image.ihex", Data: file})
	reg.ServeManifestAs(m.Digest.String(), other.Digest.String())
	_, err := f.Fetch(context.Background(), Source{OCI: &OCISource{Ref: reg.Host() + "/ecu/app@" + m.Digest.String()}})
	if !errors.Is(err, ErrImageInvalid) {
		t.Fatalf("err %v, want ErrImageInvalid for a manifest that is not the pinned one", err)
	}
}

func TestFetchOCILayerDigestVerified(t *testing.T) {
	reg := newTestRegistry(t, "", "")
	_, file := testImage()
	push(t, reg, "ecu/app:1.0", ocitest.File{Title: "app.hex", MediaType: "application/vnd.ecufleet.image.ihex", Data: file})
	tampered := bytes.ToLower(file) // same length, other bytes
	reg.CorruptBlob(ocitest.Digest(file), tampered)
	var f Fetcher
	_, err := f.Fetch(context.Background(), Source{OCI: &OCISource{Ref: reg.Host() + "/ecu/app:1.0"}})
	if !errors.Is(err, ErrImageInvalid) {
		t.Fatalf("err %v, want ErrImageInvalid for a layer whose bytes do not match its digest", err)
	}
}

func TestFetchOCIPullSecret(t *testing.T) {
	reg := newTestRegistry(t, "lab", "s3cret")
	_, file := testImage()
	push(t, reg, "ecu/app:1.0", ocitest.File{Title: "app.hex", MediaType: "application/vnd.ecufleet.image.ihex", Data: file})
	f := Fetcher{PullSecrets: secrets{
		"lab/regcred": dockerConfigJSON(reg.Host(), "lab", "s3cret"),
		"lab/wrong":   dockerConfigJSON(reg.Host(), "lab", "guess"),
		"lab/userpw":  []byte(fmt.Sprintf(`{"auths":{%q:{"username":"lab","password":"s3cret"}}}`, reg.Host())),
	}}
	ref := reg.Host() + "/ecu/app:1.0"
	for _, name := range []string{"regcred", "userpw"} {
		if _, err := f.Fetch(context.Background(), Source{Namespace: "lab", OCI: &OCISource{Ref: ref, PullSecretName: name}}); err != nil {
			t.Errorf("secret %s: %v", name, err)
		}
	}
	for _, name := range []string{"wrong", ""} {
		_, err := f.Fetch(context.Background(), Source{Namespace: "lab", OCI: &OCISource{Ref: ref, PullSecretName: name}})
		if !errors.Is(err, ErrImageUnavailable) || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "pull secret") {
			t.Errorf("secret %q: err %v, want a refusal (401) that points at the pull secret", name, err)
		}
	}
	_, err := f.Fetch(context.Background(), Source{Namespace: "lab", OCI: &OCISource{Ref: ref, PullSecretName: "absent"}})
	if !errors.Is(err, ErrImageUnavailable) || !strings.Contains(err.Error(), "lab/absent") {
		t.Errorf("missing secret: err %v, want ErrImageUnavailable naming lab/absent", err)
	}
}

func TestFetchOCITwoLayersRefused(t *testing.T) {
	reg := newTestRegistry(t, "", "")
	_, file := testImage()
	push(t, reg, "ecu/app:1.0",
		ocitest.File{Title: "app.hex", MediaType: "application/vnd.ecufleet.image.ihex", Data: file},
		ocitest.File{Title: "boot.hex", MediaType: "application/vnd.ecufleet.image.ihex", Data: intelHex(0, []byte{1, 2, 3})})
	var f Fetcher
	_, err := f.Fetch(context.Background(), Source{OCI: &OCISource{Ref: reg.Host() + "/ecu/app:1.0"}})
	if !errors.Is(err, ErrImageInvalid) || !strings.Contains(err.Error(), "2 layers") {
		t.Fatalf("err %v, want ErrImageInvalid naming 2 layers", err)
	}
	if n := reg.BlobGets.Load(); n != 0 {
		t.Errorf("%d blob downloads for a refused manifest, want 0", n)
	}
}

func TestFetchOCINotFoundIsRetryable(t *testing.T) {
	reg := newTestRegistry(t, "", "")
	var f Fetcher
	_, err := f.Fetch(context.Background(), Source{OCI: &OCISource{Ref: reg.Host() + "/ecu/app:9.9"}})
	if !errors.Is(err, ErrImageUnavailable) || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err %v, want ErrImageUnavailable saying not found", err)
	}
}

func TestFetchOCILayerTooLarge(t *testing.T) {
	reg := newTestRegistry(t, "", "")
	_, file := testImage()
	push(t, reg, "ecu/app:1.0", ocitest.File{Title: "app.hex", MediaType: "application/vnd.ecufleet.image.ihex", Data: file})
	f := Fetcher{MaxBytes: 10}
	_, err := f.Fetch(context.Background(), Source{OCI: &OCISource{Ref: reg.Host() + "/ecu/app:1.0"}})
	if !errors.Is(err, ErrImageInvalid) || reg.BlobGets.Load() != 0 {
		t.Fatalf("err %v after %d blob downloads, want ErrImageInvalid before any", err, reg.BlobGets.Load())
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:5000": true, "localhost:5000": true, "localhost": true, "[::1]:5000": true,
		"registry.example.com": false, "10.0.0.1:5000": false, "ghcr.io": false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
