package image

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/ecufleet/ecufleet/pkg/flashimage"
)

// layerFile is one file to put in an artifact, as `oras push ref name:mediaType` would.
type layerFile struct {
	title, mediaType string
	data             []byte
}

// push packs files into an artifact manifest with oras-go and copies it to reg as
// repo:tag, returning the manifest descriptor.
func push(t *testing.T, reg *testRegistry, repoTag string, files ...layerFile) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	store := memory.New()
	var layers []ocispec.Descriptor
	for _, f := range files {
		desc := content.NewDescriptorFromBytes(f.mediaType, f.data)
		desc.Annotations = map[string]string{ocispec.AnnotationTitle: f.title}
		if err := store.Push(ctx, desc, bytes.NewReader(f.data)); err != nil {
			t.Fatal(err)
		}
		layers = append(layers, desc)
	}
	manifest, err := oras.PackManifest(ctx, store, oras.PackManifestVersion1_1, "application/vnd.ecufleet.image", oras.PackManifestOptions{Layers: layers})
	if err != nil {
		t.Fatal(err)
	}
	repoName, tag, _ := strings.Cut(repoTag, ":")
	if err := store.Tag(ctx, manifest, tag); err != nil {
		t.Fatal(err)
	}
	dst, err := remote.NewRepository(reg.host() + "/" + repoName)
	if err != nil {
		t.Fatal(err)
	}
	dst.PlainHTTP = true
	if reg.user != "" {
		dst.Client = &auth.Client{Cache: auth.NewCache(), Credential: auth.StaticCredential(reg.host(), auth.Credential{Username: reg.user, Password: reg.pass})}
	}
	if _, err := oras.Copy(ctx, store, tag, dst, tag, oras.DefaultCopyOptions); err != nil {
		t.Fatalf("oras push to the test registry: %v", err)
	}
	return manifest
}

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
	push(t, reg, "ecu/app:1.0", layerFile{"app.bin", "application/vnd.ecufleet.image.bin", hexFile})
	var f Fetcher
	res, err := f.Fetch(context.Background(), Source{OCI: &OCISource{Ref: reg.host() + "/ecu/app:1.0"}, Address: 0x8000})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != flashimage.FormatBin || res.Name != "app.bin" || res.Digest != digestOf(hexFile) {
		t.Fatalf("format %q name %q digest %s, want bin from the title", res.Format, res.Name, res.Digest)
	}
	if segs := res.Image.Segments; len(segs) != 1 || segs[0].Address != 0x8000 || !bytes.Equal(segs[0].Data, hexFile) {
		t.Fatalf("segments %+v", segs)
	}

	data, _ := testImage()
	push(t, reg, "ecu/app:2.0", layerFile{"app.hex", "application/vnd.ecufleet.image.ihex", hexFile})
	res, err = f.Fetch(context.Background(), Source{OCI: &OCISource{Ref: reg.host() + "/ecu/app:2.0"}})
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
	m := push(t, reg, "ecu/app:1.0", layerFile{"app.hex", "application/vnd.ecufleet.image.ihex", file})
	var f Fetcher
	if _, err := f.Fetch(context.Background(), Source{OCI: &OCISource{Ref: reg.host() + "/ecu/app@" + m.Digest.String()}}); err != nil {
		t.Fatalf("pinned by its digest: %v", err)
	}
	// A registry that answers a pinned ref with other bytes is refused.
	other := push(t, reg, "ecu/app:2.0", layerFile{"app2.hex", "application/vnd.ecufleet.image.ihex", file})
	reg.mu.Lock()
	reg.manifests[m.Digest.String()] = reg.manifests[other.Digest.String()]
	reg.mu.Unlock()
	_, err := f.Fetch(context.Background(), Source{OCI: &OCISource{Ref: reg.host() + "/ecu/app@" + m.Digest.String()}})
	if !errors.Is(err, ErrImageInvalid) {
		t.Fatalf("err %v, want ErrImageInvalid for a manifest that is not the pinned one", err)
	}
}

func TestFetchOCILayerDigestVerified(t *testing.T) {
	reg := newTestRegistry(t, "", "")
	_, file := testImage()
	push(t, reg, "ecu/app:1.0", layerFile{"app.hex", "application/vnd.ecufleet.image.ihex", file})
	tampered := bytes.ToLower(file) // same length, other bytes
	reg.corruptBlob(digestOf(file), tampered)
	var f Fetcher
	_, err := f.Fetch(context.Background(), Source{OCI: &OCISource{Ref: reg.host() + "/ecu/app:1.0"}})
	if !errors.Is(err, ErrImageInvalid) {
		t.Fatalf("err %v, want ErrImageInvalid for a layer whose bytes do not match its digest", err)
	}
}

func TestFetchOCIPullSecret(t *testing.T) {
	reg := newTestRegistry(t, "lab", "s3cret")
	_, file := testImage()
	push(t, reg, "ecu/app:1.0", layerFile{"app.hex", "application/vnd.ecufleet.image.ihex", file})
	f := Fetcher{PullSecrets: secrets{
		"lab/regcred": dockerConfigJSON(reg.host(), "lab", "s3cret"),
		"lab/wrong":   dockerConfigJSON(reg.host(), "lab", "guess"),
		"lab/userpw":  []byte(fmt.Sprintf(`{"auths":{%q:{"username":"lab","password":"s3cret"}}}`, reg.host())),
	}}
	ref := reg.host() + "/ecu/app:1.0"
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
		layerFile{"app.hex", "application/vnd.ecufleet.image.ihex", file},
		layerFile{"boot.hex", "application/vnd.ecufleet.image.ihex", intelHex(0, []byte{1, 2, 3})})
	var f Fetcher
	_, err := f.Fetch(context.Background(), Source{OCI: &OCISource{Ref: reg.host() + "/ecu/app:1.0"}})
	if !errors.Is(err, ErrImageInvalid) || !strings.Contains(err.Error(), "2 layers") {
		t.Fatalf("err %v, want ErrImageInvalid naming 2 layers", err)
	}
	if n := reg.blobGets.Load(); n != 0 {
		t.Errorf("%d blob downloads for a refused manifest, want 0", n)
	}
}

func TestFetchOCINotFoundIsRetryable(t *testing.T) {
	reg := newTestRegistry(t, "", "")
	var f Fetcher
	_, err := f.Fetch(context.Background(), Source{OCI: &OCISource{Ref: reg.host() + "/ecu/app:9.9"}})
	if !errors.Is(err, ErrImageUnavailable) || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err %v, want ErrImageUnavailable saying not found", err)
	}
}

func TestFetchOCILayerTooLarge(t *testing.T) {
	reg := newTestRegistry(t, "", "")
	_, file := testImage()
	push(t, reg, "ecu/app:1.0", layerFile{"app.hex", "application/vnd.ecufleet.image.ihex", file})
	f := Fetcher{MaxBytes: 10}
	_, err := f.Fetch(context.Background(), Source{OCI: &OCISource{Ref: reg.host() + "/ecu/app:1.0"}})
	if !errors.Is(err, ErrImageInvalid) || reg.blobGets.Load() != 0 {
		t.Fatalf("err %v after %d blob downloads, want ErrImageInvalid before any", err, reg.blobGets.Load())
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
