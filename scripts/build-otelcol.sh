#!/usr/bin/env bash
# Builds the OpenTelemetry Collector that bench/peers-sink.ts measures next to the Sluice sink, with
# the collector builder (ocb) from the Go module proxy, every collector module at one release.
# First choice: filelog receiver → opensearchexporter (what the seeds' design ships events with).
# When a module of that build is not to be had, the exact error is kept and the newest collector
# that builds is made instead: the same receiver into the nop exporter, so the figure it gives is
# the collector's CPU before any OpenSearch work (a floor of what the real exporter would cost).
#
# Cached in the machine cache ($MACHINE_CACHE/otelcol-bench/<variant>-<manifest hash>/, as
# build-otelcol-traces.sh does), so every clone and worktree on this machine reuses one build; a
# fresh machine builds it. A refused module is remembered by the same hash and not asked for again
# until its <variant>-<hash>.error file is removed. Prints a JSON line to stdout:
#   {"variant":"opensearch"|"nop","binary":"…","release":"…","opensearch_error":"…"|null}
# The Go build takes ~10 min of both cores: it runs niced.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG_TAG=build-otelcol
source "$REPO_ROOT/scripts/lib/common.sh"

CORE=v0.165.0     # go.opentelemetry.io/collector/* unstable modules
STABLE=v1.71.0    # go.opentelemetry.io/collector/* 1.x modules of the same release
CONTRIB=v0.165.1  # opentelemetry-collector-contrib modules of the same release
CACHE="$MACHINE_CACHE/otelcol-bench"
mkdir -p "$CACHE/bin"
# Two clones building at once would race on the same directories (and double a 10-minute build).
exec 9>"$CACHE/.lock"
flock 9
# Holding the lock, any build directory left is from a build that was killed.
rm -rf "$CACHE"/.build-*
command -v go >/dev/null || die "go is not installed (the machine image ships it)"
# Only the module proxy: a module it refuses must fail with the proxy's own words, not with a
# fallback to a VCS host that this machine cannot reach.
GOPROXY="$(go env GOPROXY | sed 's/,direct$//; s/|direct$//')"
export GOPROXY GOFLAGS=-buildvcs=false

contrib=github.com/open-telemetry/opentelemetry-collector-contrib
manifest() { # $1 variant, $2 exporter gomod line, $3 output path (left out of the hash)
  cat <<EOF
dist:
  name: otelcol-sluice-bench
  description: Collector for the Sluice peer bench ($1)
  output_path: $3
  version: ${CORE#v}
receivers:
  - gomod: $contrib/receiver/filelogreceiver $CONTRIB
processors:
  - gomod: go.opentelemetry.io/collector/processor/batchprocessor $CORE
exporters:
  - gomod: $2
providers:
  # env is the builder's default URI scheme: the collector refuses to start without its provider.
  - gomod: go.opentelemetry.io/collector/confmap/provider/envprovider $STABLE
  - gomod: go.opentelemetry.io/collector/confmap/provider/fileprovider $STABLE
EOF
}

builder="$CACHE/bin/builder-$CORE"
if [[ ! -x $builder ]]; then
  log "installing the collector builder $CORE"
  GOBIN="$CACHE/bin" nice -n 19 go install "go.opentelemetry.io/collector/cmd/builder@$CORE" >&2
  mv "$CACHE/bin/builder" "$builder"
fi

# $1 variant, $2 exporter gomod; prints the binary path, or fails with the error in $CACHE/<key>.error
key_of() { echo "$1-$(manifest "$1" "$2" OUT | sha256sum | cut -c1-16)"; }
build() {
  local variant=$1 key dir work
  key="$(key_of "$variant" "$2")"
  dir="$CACHE/$key"
  if [[ -x $dir/otelcol-sluice-bench ]]; then echo "$dir/otelcol-sluice-bench"; return 0; fi
  if [[ -f $CACHE/$key.error ]]; then return 1; fi
  # Built aside and moved in whole: an interrupted build leaves no binary that looks finished.
  work="$(mktemp -d "$CACHE/.build-$key.XXXX")"
  manifest "$variant" "$2" "$work/out" >"$work/builder.yaml"
  log "building the $variant collector into $dir (niced; minutes)"
  if nice -n 19 "$builder" --config "$work/builder.yaml" >"$work/build.log" 2>&1; then
    mkdir -p "$dir"
    cp "$work/builder.yaml" "$work/build.log" "$dir/"
    mv "$work/out/otelcol-sluice-bench" "$dir/otelcol-sluice-bench"
    rm -rf "$work"
    echo "$dir/otelcol-sluice-bench"
  else
    # The builder's last error lines carry the go command's own message (e.g. the proxy's refusal).
    # The proxy's address is left out: the error lands in committed results.
    grep -vE '^go: (downloading|finding|extracting) ' "$work/build.log" | grep -E 'go: |error|Error|refused|not available|Not Found|server response' |
      sed -E 's#https?://[^/ ]+#<module proxy>#g' | tail -5 >"$CACHE/$key.error" || true
    [[ -s $CACHE/$key.error ]] || tail -5 "$work/build.log" >"$CACHE/$key.error"
    cp "$work/build.log" "$CACHE/$key.log"
    rm -rf "$work"
    return 1
  fi
}

json_str() { node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(0,"utf8").trim()))'; }
opensearch_mod="$contrib/exporter/opensearchexporter $CONTRIB"
nop_mod="go.opentelemetry.io/collector/exporter/nopexporter $CORE"
if bin="$(build opensearch "$opensearch_mod")"; then
  printf '{"variant":"opensearch","binary":"%s","release":"%s","opensearch_error":null}\n' "$bin" "$CORE/$CONTRIB"
  exit 0
fi
os_error="$CACHE/$(key_of opensearch "$opensearch_mod").error"
err="$(json_str <"$os_error")"
log "opensearchexporter did not build (remove $os_error to ask the proxy again): $(cat "$os_error")"
if bin="$(build nop "$nop_mod")"; then
  printf '{"variant":"nop","binary":"%s","release":"%s","opensearch_error":%s}\n' "$bin" "$CORE/$CONTRIB" "$err"
  exit 0
fi
log "the fallback collector did not build either: $(cat "$CACHE/$(key_of nop "$nop_mod").error")"
exit 1
