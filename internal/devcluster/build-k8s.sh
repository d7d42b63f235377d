#!/usr/bin/env bash
# Builds the envtest control-plane binaries (kube-apiserver, etcd) from Go source into the
# directory given as $1, because prebuilt binaries cannot be downloaded on the machines ecufleet
# is developed and tested on. Re-running is cheap: binaries already present are kept.
# Usage: build-k8s.sh OUTDIR   (the Makefile passes bin/k8s; `ecufleet dev` runs an embedded copy)
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
out="${1:?usage: build-k8s.sh OUTDIR}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log() { printf '[build-k8s %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# heartbeat prints a line every 30 s so a long build never looks hung.
heartbeat() {
  local what="$1" start=$SECONDS
  while sleep 30; do log "still building $what ($((SECONDS - start)) s elapsed)"; done
}

# quiet runs a command in a directory, showing its output only when it fails.
quiet() { # quiet DIR CMD...
  local dir="$1"; shift
  if ! (cd "$dir" && "$@") >"$work/cmd.log" 2>&1; then
    cat "$work/cmd.log" >&2
    log "FAILED: $* (in $dir); check that the Go module proxy is reachable (go env GOPROXY) and retry"
    exit 1
  fi
}

build() { # build NAME ESTIMATE DIR PKG LDFLAGS
  local name="$1" estimate="$2" dir="$3" pkg="$4" ldflags="$5"
  log "building $name from $pkg (about $estimate on 2 cores; progress every 30 s)"
  heartbeat "$name" & local hb=$!
  local start=$SECONDS
  if ! (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/$name.tmp" "$pkg"); then
    kill "$hb" 2>/dev/null || true
    log "FAILED to build $name; check that the Go module proxy is reachable (go env GOPROXY) and retry"
    exit 1
  fi
  kill "$hb" 2>/dev/null || true
  mv "$out/$name.tmp" "$out/$name"
  log "built $out/$name in $((SECONDS - start)) s"
}

if [[ ! -x "$out/etcd" ]]; then
  mkdir -p "$work/etcd"
  log "resolving go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  quiet "$work/etcd" go mod init ecufleet.local/etcd-build
  quiet "$work/etcd" go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  cat >"$work/etcd/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  quiet "$work/etcd" go mod tidy
  build etcd "1 minute" "$work/etcd" . ""
else
  log "etcd present in $out"
fi

if [[ ! -x "$out/kube-apiserver" ]]; then
  mkdir -p "$work/k8s"
  minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  staging="v0.${K8S_VERSION#v1.}"
  log "resolving k8s.io/kubernetes@$K8S_VERSION (staging modules at $staging)"
  modfile="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  {
    echo "module ecufleet.local/k8s-build"
    echo
    echo "go 1.26"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    grep '=> ./staging/src/' "$modfile" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
  } >"$work/k8s/go.mod"
  log "replacing $(grep -c '^replace' "$work/k8s/go.mod") staging modules"
  cat >"$work/k8s/main.go" <<'GO'
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() { os.Exit(cli.Run(app.NewAPIServerCommand())) }
GO
  quiet "$work/k8s" go mod tidy
  ld="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ld="$ld -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  build kube-apiserver "8 minutes" "$work/k8s" . "$ld"
else
  log "kube-apiserver present in $out"
fi
log "envtest binaries ready in $out"
