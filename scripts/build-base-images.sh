#!/usr/bin/env bash
# Builds the local base images that agent containers in the e2e tests run from. No registry is
# reachable, so every image is made from what this machine has:
#   sluice/base:busybox    made by scripts/services.sh (host busybox-static, ~2 MB)
#   sluice/base:bookworm   Debian bookworm minbase, debootstrapped from the mirror apt uses
#   sluice/base:node<N>    bookworm + the host's node binary (the version the services run on)
# The debootstrapped rootfs is cached as a tarball in the machine cache, so a rebuild (or a fresh
# clone) takes seconds instead of a ~30 s debootstrap. Image names go to stdout, chatter to stderr.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MACHINE_CACHE="${SLUICE_MACHINE_CACHE:-/var/cache/sluice}"
SUITE=bookworm
# Enough for an agent to make and inspect network calls in tests (curl, nc, ip), TLS roots included.
INCLUDE=ca-certificates,curl,iproute2,netcat-openbsd

log() { printf '[build-base-images] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# The first plain Debian archive apt is configured with (one-line or deb822 sources), so debootstrap
# goes through the same mirror/proxy that apt already reaches.
debian_mirror() {
  if [[ -n ${SLUICE_DEBIAN_MIRROR:-} ]]; then
    echo "$SLUICE_DEBIAN_MIRROR"
    return
  fi
  local url
  url="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ')" || true
  [[ -n $url ]] || {
    log "no Debian mirror found in apt's sources; set SLUICE_DEBIAN_MIRROR"
    exit 1
  }
  echo "$url"
}

build_bookworm() {
  local image="sluice/base:$SUITE"
  if docker image inspect "$image" >/dev/null 2>&1; then
    log "$image: present"
    return
  fi
  local tarball="$MACHINE_CACHE/rootfs/$SUITE-minbase.tar"
  if [[ ! -s $tarball ]]; then
    local mirror root
    mirror="$(debian_mirror)"
    root="$(mktemp -d /var/tmp/sluice-rootfs.XXXXXX)"
    # shellcheck disable=SC2064 # expand now: $root is local
    trap "rm -rf '$root'" EXIT
    local dlog="$MACHINE_CACHE/rootfs/debootstrap.log"
    mkdir -p "$(dirname "$dlog")"
    log "debootstrap $SUITE (minbase + $INCLUDE) from $mirror (~30 s; log: $dlog)"
    if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$root" "$mirror" >"$dlog" 2>&1; then
      tail -n 30 "$dlog" | sed 's/^/    /' >&2
      die "debootstrap failed; full log in $dlog"
    fi
    # Downloaded .debs and package lists are dead weight in every container.
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar --numeric-owner -C "$root" -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
    rm -rf "$root"
    trap - EXIT
  fi
  log "$image: importing $tarball"
  docker import --message "sluice base: debootstrap $SUITE minbase + $INCLUDE" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' "$tarball" "$image" >/dev/null
}

# A Dockerfile build on top of the imported rootfs: proves `docker build` works offline from a local
# FROM, and keeps the node layer separate so a host node upgrade rebuilds only that layer.
build_node() {
  local node version major image ctx
  node="$(readlink -f "$(command -v node)")" || die "no node on PATH"
  version="$("$node" -p 'process.versions.node')"
  major="${version%%.*}"
  image="sluice/base:node$major"
  if [[ "$(docker image inspect -f '{{index .Config.Labels "dev.sluice.node-version"}}' "$image" 2>/dev/null || true)" == "$version" ]]; then
    log "$image: present (node $version)"
    echo "$image"
    return
  fi
  ctx="$(mktemp -d)"
  cp "$node" "$ctx/node"
  cat >"$ctx/Dockerfile" <<EOF
FROM sluice/base:$SUITE
COPY node /usr/local/bin/node
LABEL dev.sluice.node-version="$version"
CMD ["node"]
EOF
  log "$image: building with node $version"
  docker build -q -t "$image" "$ctx" >/dev/null
  rm -rf "$ctx"
  docker run --rm "$image" node -e 'process.exit(0)' || die "$image: node does not run in the image"
  echo "$image"
}

main() {
  [[ $EUID -eq 0 ]] || die "must run as root (debootstrap, docker)"
  "$REPO_ROOT/scripts/services.sh" up docker >/dev/null
  echo sluice/base:busybox
  build_bookworm
  echo "sluice/base:$SUITE"
  build_node
}

main "$@"
