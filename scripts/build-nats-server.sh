#!/usr/bin/env bash
# Builds nats-server $NATS_SERVER_VERSION (scripts/versions.sh) from the Go module proxy into the
# machine cache, $MACHINE_CACHE/nats-server/<version>/nats-server, so every clone on this machine
# reuses it. Prints the binary's path on stdout; a second call is a no-op.
#
# Why a built server at all: Debian's nats-server is 2.9. The JetStream cluster
# (scripts/servers/nats-cluster.sh) runs the newer release; the single dev/test server stays on
# Debian's package (docs/cluster.md "Which nats-server").
#
# ~2-4 min of both cores the first time (niced), nothing after. Needs Go (the machine image ships
# it) and the Go module proxy; the proxy is asked directly, with no fallback to a VCS host this
# machine cannot reach, so a refusal fails with the go command's own words.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG_TAG=build-nats-server
source "$REPO_ROOT/scripts/lib/common.sh"
source "$REPO_ROOT/scripts/versions.sh"

version="$NATS_SERVER_VERSION"
dir="$MACHINE_CACHE/nats-server/$version"
bin="$dir/nats-server"
if [[ -x $bin ]]; then
  echo "$bin"
  exit 0
fi

# nats-server 2.15 needs Go >= 1.26 (its go.mod); an older go fetches that toolchain from the same
# module proxy by itself (GOTOOLCHAIN=auto). Debian's golang-go (1.19) is too old to do even that.
command -v go >/dev/null || die "go is not installed: it builds nats-server $version for the NATS cluster (the machine image ships Go in /usr/local/go)"
GOPROXY="$(go env GOPROXY | tr '|' ',' | tr ',' '\n' | grep -vxE 'direct|off' | paste -sd, -)"
[[ -n $GOPROXY ]] || die "go env GOPROXY names no module proxy ('$(go env GOPROXY)'); nats-server $version comes from one"
export GOPROXY GOFLAGS=-buildvcs=false

mkdir -p "$dir"
# Two clones starting a cluster at once build once: the second waits, then finds the binary.
exec 8>"$dir/.lock"
flock -w 900 8 || die "another build of nats-server $version holds $dir/.lock"
if [[ -x $bin ]]; then
  echo "$bin"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log "building nats-server $version from the Go module proxy (niced; a few minutes, once per machine)"
if ! GOBIN="$work" nice -n 19 go install "github.com/nats-io/nats-server/v2@$version" >"$work/log" 2>&1; then
  # The proxy's address is left out: this message may be pasted into issues.
  grep -vE '^go: (downloading|finding|extracting) ' "$work/log" | sed -E 's#https?://[^/ ]+#<module proxy>#g' | tail -5 >&2
  die "could not build github.com/nats-io/nats-server/v2@$version (the module proxy's answer is above). SLUICE_NATS_CLUSTER_SERVER=debian runs the cluster on Debian's nats-server instead"
fi
got="$("$work/nats-server" --version 2>&1)" || die "the built nats-server does not run: $got"
[[ $got == *"${version#v}"* ]] || die "built nats-server says '$got', expected $version"
mv "$work/nats-server" "$bin.tmp"
mv "$bin.tmp" "$bin"
log "nats-server $version in $bin"
echo "$bin"
