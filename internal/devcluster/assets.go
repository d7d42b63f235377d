// Package devcluster runs a local Kubernetes control plane (etcd and kube-apiserver through
// envtest) with ecufleet's CRDs, so that nobody needs a cluster to try or test ecufleet.
package devcluster

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

//go:embed build-k8s.sh
var buildScript []byte

// assetNames are the envtest binaries ecufleet needs; kubectl is not one of them.
var assetNames = []string{"etcd", "kube-apiserver"}

// ResolveAssets finds the directory holding etcd and kube-apiserver, building them from Go
// source when no copy exists, because prebuilt binaries cannot be downloaded here.
// Order: $KUBEBUILDER_ASSETS, then bin/k8s under the repository (or the user cache outside
// one), else build into that directory, printing progress to out.
func ResolveAssets(ctx context.Context, out io.Writer) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		if err := checkAssets(dir); err != nil {
			return "", fmt.Errorf("KUBEBUILDER_ASSETS=%s: %w (unset it to use or build bin/k8s)", dir, err)
		}
		return dir, nil
	}
	dir, err := defaultAssetsDir()
	if err != nil {
		return "", err
	}
	if checkAssets(dir) == nil {
		return dir, nil
	}
	fmt.Fprintf(out, "Building etcd and kube-apiserver from Go source into %s (first use only: about 10 minutes on 2 cores)\n", dir)
	if err := buildAssets(ctx, dir, out); err != nil {
		return "", err
	}
	return dir, checkAssets(dir)
}

func checkAssets(dir string) error {
	for _, name := range assetNames {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("missing %s: %w", name, err)
		}
		if st.Mode()&0o111 == 0 {
			return fmt.Errorf("%s is not executable", filepath.Join(dir, name))
		}
	}
	return nil
}

// defaultAssetsDir is bin/k8s of the repository the process runs in, so that `make`, the tests
// and `ecufleet dev` share one build; outside a checkout it is the user's cache directory.
func defaultAssetsDir() (string, error) {
	if root, ok := repoRoot(); ok {
		return filepath.Join(root, "bin", "k8s"), nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no repository and no user cache directory for the control-plane binaries: %w (set KUBEBUILDER_ASSETS)", err)
	}
	return filepath.Join(cache, "ecufleet", "k8s"), nil
}

// repoRoot walks up from the working directory to the ecufleet go.mod.
func repoRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && modulePath(data) == "github.com/ecufleet/ecufleet" {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func buildAssets(ctx context.Context, dir string, out io.Writer) error {
	if _, err := exec.LookPath("go"); err != nil {
		return fmt.Errorf("building the control-plane binaries needs the Go toolchain on PATH: %w (or set KUBEBUILDER_ASSETS to a directory with etcd and kube-apiserver)", err)
	}
	cmd := exec.CommandContext(ctx, "bash", "-s", "--", dir)
	cmd.Stdin = bytes.NewReader(buildScript)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building etcd and kube-apiserver into %s: %w", dir, err)
	}
	return nil
}

// modulePath reads the module line of a go.mod, enough to recognise ecufleet's own checkout.
func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
