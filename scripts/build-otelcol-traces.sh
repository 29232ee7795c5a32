#!/usr/bin/env bash
# Builds the OpenTelemetry Collector of infra/otelcol/builder.yaml with ocb (go.opentelemetry.io/
# collector/cmd/builder, Go module proxy) into the machine cache, once per builder.yaml content.
# ~2 minutes the first time on a small machine, nothing after. Prints the binary's path on stdout.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SLUICE_MACHINE_CACHE:-/var/cache/sluice}/otelcol"
CONFIG="$REPO_ROOT/infra/otelcol/builder.yaml"
VERSION=v0.165.0
hash="$(sha256sum "$CONFIG" | cut -c1-12)"
out="$CACHE/$hash"
bin="$out/otelcol-sluice"
if [[ -x $bin ]]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "build-otelcol-traces: go is not installed" >&2; exit 1; }
mkdir -p "$CACHE/bin" "$out"
if [[ ! -x $CACHE/bin/builder ]]; then
  echo "build-otelcol-traces: go install go.opentelemetry.io/collector/cmd/builder@$VERSION" >&2
  GOBIN="$CACHE/bin" go install "go.opentelemetry.io/collector/cmd/builder@$VERSION" >&2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed "s#^dist:#dist:\n  output_path: $work/out#" "$CONFIG" >"$work/builder.yaml"
echo "build-otelcol-traces: building the collector (~2 min)" >&2
"$CACHE/bin/builder" --config "$work/builder.yaml" >&2
mv "$work/out/otelcol-sluice" "$bin"
echo "$bin"
