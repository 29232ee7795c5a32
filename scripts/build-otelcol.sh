#!/usr/bin/env bash
# Builds the OpenTelemetry Collector that bench/peers-sink.ts measures next to the Sluice sink, with
# the collector builder (ocb) from the Go module proxy, every collector module at one release.
# First choice: filelog receiver → opensearchexporter (what the seeds' design ships events with).
# When a module of that build is not to be had, the exact error is kept and the newest collector
# that builds is made instead: the same receiver into the nop exporter, so the figure it gives is
# the collector's CPU before any OpenSearch work (a floor of what the real exporter would cost).
#
# Cached under .cache/otelcol/ by the manifest's hash: a second call is a no-op, and a refused
# module is not asked for again until .cache/otelcol is removed. Prints a JSON line to stdout:
#   {"variant":"opensearch"|"nop","binary":"…","release":"…","opensearch_error":"…"|null}
# The Go build takes ~10 min of both cores: it runs niced.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG_TAG=build-otelcol
source "$REPO_ROOT/scripts/lib/common.sh"

CORE=v0.165.0     # go.opentelemetry.io/collector/* unstable modules
STABLE=v1.71.0    # go.opentelemetry.io/collector/* 1.x modules of the same release
CONTRIB=v0.165.1  # opentelemetry-collector-contrib modules of the same release
CACHE="$REPO_ROOT/.cache/otelcol"
mkdir -p "$CACHE"
command -v go >/dev/null || die "go is not installed (the machine image ships it)"
# Only the module proxy: a module it refuses must fail with the proxy's own words, not with a
# fallback to a VCS host that this machine cannot reach.
GOPROXY="$(go env GOPROXY | sed 's/,direct$//; s/|direct$//')"
export GOPROXY GOFLAGS=-buildvcs=false

contrib=github.com/open-telemetry/opentelemetry-collector-contrib
manifest() { # $1 variant, $2 exporter gomod line
  cat <<EOF
dist:
  name: otelcol-sluice-bench
  description: Collector for the Sluice peer bench ($1)
  output_path: $CACHE/$1
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

# $1 variant, $2 exporter gomod; prints the binary path, or fails with the error in $CACHE/$1.error
build() {
  local variant=$1 sum dir
  manifest "$variant" "$2" >"$CACHE/$variant.yaml"
  sum="$(sha256sum "$CACHE/$variant.yaml" | cut -c1-16)"
  dir="$CACHE/$variant"
  if [[ -x $dir/otelcol-sluice-bench && -f $dir/.built-$sum ]]; then echo "$dir/otelcol-sluice-bench"; return 0; fi
  if [[ -f $CACHE/$variant.error && -f $CACHE/$variant.error-$sum ]]; then return 1; fi
  rm -rf "$dir" "$CACHE/$variant.error"*
  log "building the $variant collector (niced; minutes)"
  if nice -n 19 "$builder" --config "$CACHE/$variant.yaml" >"$CACHE/$variant.log" 2>&1; then
    touch "$dir/.built-$sum"
    echo "$dir/otelcol-sluice-bench"
  else
    # The builder's last error lines carry the go command's own message (e.g. the proxy's refusal).
    # The proxy's address is left out: the error lands in committed results.
    grep -vE '^go: (downloading|finding|extracting) ' "$CACHE/$variant.log" | grep -E 'go: |error|Error|refused|not available|Not Found|server response' |
      sed -E 's#https?://[^/ ]+#<module proxy>#g' | tail -5 >"$CACHE/$variant.error" || true
    [[ -s $CACHE/$variant.error ]] || tail -5 "$CACHE/$variant.log" >"$CACHE/$variant.error"
    touch "$CACHE/$variant.error-$sum"
    return 1
  fi
}

json_str() { node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(0,"utf8").trim()))'; }
if bin="$(build opensearch "$contrib/exporter/opensearchexporter $CONTRIB")"; then
  printf '{"variant":"opensearch","binary":"%s","release":"%s","opensearch_error":null}\n' "$bin" "$CORE/$CONTRIB"
  exit 0
fi
err="$(json_str <"$CACHE/opensearch.error")"
log "opensearchexporter did not build: $(cat "$CACHE/opensearch.error")"
if bin="$(build nop "go.opentelemetry.io/collector/exporter/nopexporter $CORE")"; then
  printf '{"variant":"nop","binary":"%s","release":"%s","opensearch_error":%s}\n' "$bin" "$CORE/$CONTRIB" "$err"
  exit 0
fi
log "the fallback collector did not build either: $(cat "$CACHE/nop.error")"
exit 1
