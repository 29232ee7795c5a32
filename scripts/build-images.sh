#!/usr/bin/env bash
# Builds the images of the compose deployment (infra/docker-compose.yml) from the local bases of
# scripts/build-base-images.sh. No image registry is reachable: Debian packages come from the mirror
# apt uses (the bases' sources.list), OpenSearch from Maven Central (the zip services.sh caches).
#
#   scripts/build-images.sh [--no-cache] [app|nats|redis|opensearch|prometheus]...   (default: all)
#
# --no-cache rebuilds even existing tags without Docker's layer cache: what a fresh machine pays.
#
# Every image is tagged with a hash of its exact build context (Dockerfile and files, staged as a
# deterministic tar) and of its base image id, so an unchanged tree builds nothing, and a changed
# one rebuilds only the images it touches. Each image also gets the moving tag :latest.
# stdout: one SLUICE_<NAME>_IMAGE=sluice/<name>:<hash> line per image (what docker-compose.yml
# reads; `eval "$(scripts/build-images.sh)"`). Progress goes to stderr.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCKER_DIR="$REPO_ROOT/infra/docker"
LOG_TAG=build-images
source "$REPO_ROOT/scripts/lib/common.sh"
source "$REPO_ROOT/scripts/versions.sh"
source "$REPO_ROOT/scripts/lib/maven.sh"
ALL_IMAGES=(app nats redis opensearch prometheus)
NO_CACHE=0


# A tar whose bytes depend on content only (names, modes, file bytes), so its hash is a stable tag.
det_tar() {
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu "$@"
}

image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null; }

# Older content-hash tags of NAME go, or every edit would leave a few hundred MB behind. `docker rmi`
# without -f refuses an image a container still uses, so a running stack keeps its image.
prune_old() {
  local name=$1 keep=$2 tag
  for tag in $(docker image ls --format '{{.Tag}}' "sluice/$name"); do
    [[ $tag =~ ^[0-9a-f]{16}$ && $tag != "$keep" ]] || continue
    if docker rmi "sluice/$name:$tag" >/dev/null 2>&1; then log "sluice/$name:$tag: removed (superseded)"; fi
  done
}

# build NAME BASE CONTEXT_TAR: builds sluice/NAME:<hash> unless it exists; prints the env line.
build() {
  local name=$1 base=$2 tar=$3 base_id hash image started=$SECONDS
  base_id="$(image_id "$base")" || die "$name: base image $base is missing"
  hash="$( (echo "$base_id" && sha256sum <"$tar") | sha256sum | cut -c1-16)"
  image="sluice/$name:$hash"
  if ((!NO_CACHE)) && image_id "$image" >/dev/null; then
    log "$image: up to date"
  else
    log "$image: building ($(du -h "$tar" | cut -f1) context)"
    # The legacy builder prints every step; it goes to stderr with the rest of the chatter.
    local cache_flag=()
    ((NO_CACHE)) && cache_flag=(--no-cache)
    docker build --force-rm "${cache_flag[@]}" -t "$image" - <"$tar" | sed -u "s/^/    [$name] /" >&2 ||
      die "$name: docker build failed"
    image_id "$image" >/dev/null || die "$name: docker build failed"
    log "$image: built in $((SECONDS - started))s"
  fi
  docker tag "$image" "sluice/$name:latest"
  prune_old "$name" "$hash"
  printf 'SLUICE_%s_IMAGE=%s\n' "$(tr '[:lower:]-' '[:upper:]_' <<<"$name")" "$image"
}

# What the services run: each one compiled file (dependencies bundled in, no node_modules needed),
# the CLI likewise, and the helper binary. pnpm-workspace.yaml marks the root the CLI looks for.
stage_app() {
  local tar=$1 helper="$REPO_ROOT/bpf/build/sluice-bpf"
  [[ -x $helper ]] || die "app: $helper is missing; run 'pnpm build' first"
  node "$REPO_ROOT/scripts/build-js.mjs" --check || node "$REPO_ROOT/scripts/build-js.mjs"
  local ctx
  ctx="$(mktemp -d)"
  cp "$DOCKER_DIR/app/Dockerfile" "$ctx/Dockerfile"
  det_tar -C "$ctx" -cf "$tar" Dockerfile
  rm -rf "$ctx"
  local paths=(package.json pnpm-workspace.yaml cli/dist bpf/build/sluice-bpf) s
  for s in bpf-reader attributor policy learner sink otlp-receiver; do paths+=("services/$s/dist"); done
  det_tar -C "$REPO_ROOT" --transform 's,^,workspace/,S' -rf "$tar" "${paths[@]}"
}

# nats-server reads its files from /etc/nats; cluster.conf includes ./accounts.conf, routes.conf (the
# cluster deployment) includes ./cluster.conf.
stage_nats() {
  local tar=$1 ctx
  ctx="$(mktemp -d)"
  cp "$DOCKER_DIR/nats/Dockerfile" "$REPO_ROOT/infra/nats/cluster.conf" "$REPO_ROOT/infra/nats/accounts.conf" "$REPO_ROOT/infra/nats/routes.conf" "$ctx/"
  det_tar -C "$ctx" -cf "$tar" .
  rm -rf "$ctx"
}

stage_plain() {
  local name=$1 tar=$2
  det_tar -C "$DOCKER_DIR/$name" -cf "$tar" .
}

# The same artifact services.sh runs, from the same cache.
opensearch_zip() {
  maven_fetch org.opensearch.distribution.integ-test-zip opensearch "$OPENSEARCH_VERSION" zip ||
    die "opensearch $OPENSEARCH_VERSION is not on Maven Central"
}

# Unpacked here, so the image holds the distribution once (not the zip plus its contents).
stage_opensearch() {
  local tar=$1 zip ctx
  zip="$(opensearch_zip)"
  ctx="$(mktemp -d)"
  unzip -q "$zip" -d "$ctx"
  mv "$ctx/opensearch-$OPENSEARCH_VERSION" "$ctx/opensearch"
  cp "$DOCKER_DIR/opensearch/Dockerfile" "$DOCKER_DIR/opensearch/opensearch.yml" "$ctx/"
  det_tar -C "$ctx" -cf "$tar" .
  rm -rf "$ctx"
}

main() {
  local want=() n
  if [[ ${1:-} == --no-cache ]]; then
    NO_CACHE=1
    shift
  fi
  (($# > 0)) || set -- "${ALL_IMAGES[@]}"
  for n in "$@"; do
    [[ " ${ALL_IMAGES[*]} " == *" $n "* ]] || die "unknown image '$n' (one of: ${ALL_IMAGES[*]})"
    want+=("$n")
  done
  [[ $EUID -eq 0 ]] || die "must run as root (docker, and the bases' debootstrap)"
  "$REPO_ROOT/scripts/build-base-images.sh" >/dev/null
  local work
  work="$(mktemp -d /var/tmp/sluice-images.XXXXXX)"
  # shellcheck disable=SC2064 # expand now: $work is local
  trap "rm -rf '$work'" EXIT
  local started=$SECONDS
  for n in "${want[@]}"; do
    local tar="$work/$n.tar"
    case $n in
      app) stage_app "$tar" && build app sluice/base:node20 "$tar" ;;
      nats) stage_nats "$tar" && build nats sluice/base:bookworm "$tar" ;;
      opensearch) stage_opensearch "$tar" && build opensearch sluice/base:bookworm "$tar" ;;
      redis | prometheus) stage_plain "$n" "$tar" && build "$n" sluice/base:bookworm "$tar" ;;
    esac
    rm -f "$tar"
  done
  log "done in $((SECONDS - started))s"
}

main "$@"
