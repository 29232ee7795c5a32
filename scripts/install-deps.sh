#!/usr/bin/env bash
# Idempotent install of every system dependency Sluice needs on a fresh Debian bookworm machine
# (root, no systemd, only package registries reachable). Fast no-op when everything is present, so
# scripts/services.sh can call it on every `up`. All chatter goes to stderr.
#
#   scripts/install-deps.sh [opensearch]   opensearch: also the OpenSearch distribution (+ ISM) in .cache/
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG_TAG=install-deps
source "$REPO_ROOT/scripts/lib/common.sh"
source "$REPO_ROOT/scripts/versions.sh"

# BPF toolchain (bpf/), the real servers started by scripts/services.sh, and the tools those scripts use.
# The JRE runs OpenSearch (the integ-test zip bundles no JDK); redis-tools gives redis-cli for health checks.
# ipset, bubblewrap, socat and ripgrep are for the peers the bench measures Sluice against (iptables + ipset,
# Anthropic's sandbox-runtime).
PACKAGES=(
  clang llvm libbpf-dev bpftool linux-libc-dev libelf-dev zlib1g-dev make
  nats-server redis-server redis-tools docker.io docker-compose prometheus
  openjdk-17-jre-headless maven iproute2 iptables util-linux busybox-static debootstrap unzip curl ca-certificates
  ipset bubblewrap socat ripgrep
)

if [[ $EUID -ne 0 ]]; then
  log "must run as root (installs packages, mounts bpffs)"
  exit 1
fi

# dpkg-query reads the local database only: milliseconds, no lock, no network (apt would be slower and noisier).
# Packages dpkg has never heard of print nothing, so anything not reported as "ii" counts as missing.
declare -A state=()
while read -r status pkg; do
  state[$pkg]=$status
done < <(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for pkg in "${PACKAGES[@]}"; do
  [[ ${state[$pkg]:-} == ii ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The lock timeout lets us queue behind another apt run (a concurrent install) instead of failing.
  apt-get update -o DPkg::Lock::Timeout=300 >&2
  apt-get install -y -o DPkg::Lock::Timeout=300 "${missing[@]}" >&2
fi

# pnpm pinned to the root package.json's packageManager field so every machine resolves the same lockfile.
want_pnpm="$(node -p "(require('$REPO_ROOT/package.json').packageManager || '').split('@')[1] || ''" 2>/dev/null || true)"
want_pnpm="${want_pnpm:-10.34.9}"
have_pnpm="$(pnpm --version 2>/dev/null || true)"
if [[ $have_pnpm != "$want_pnpm" ]]; then
  log "installing pnpm@$want_pnpm (found: ${have_pnpm:-none})"
  npm i -g "pnpm@$want_pnpm" >&2
fi

# bpffs is where the BPF loader pins programs and maps; without systemd nobody mounts it for us.
if [[ "$(findmnt -n -o FSTYPE /sys/fs/bpf 2>/dev/null || true)" != bpf ]]; then
  log "mounting bpffs at /sys/fs/bpf"
  mkdir -p /sys/fs/bpf 2>/dev/null || true
  mount -t bpf bpf /sys/fs/bpf
fi

# Provisioning of downloaded servers, on request (services.sh asks before it starts one).
for what in "$@"; do
  case $what in
    opensearch)
      source "$REPO_ROOT/scripts/lib/maven.sh"
      source "$REPO_ROOT/scripts/lib/opensearch-dist.sh"
      provision_opensearch
      ;;
    *) die "unknown provisioning target '$what' (known: opensearch)" ;;
  esac
done
