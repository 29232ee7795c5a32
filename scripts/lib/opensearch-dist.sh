# The OpenSearch distribution: the integ-test zip from Maven Central (no bundled JDK, no security
# plugin, only the transport-netty4 module) plus ISM, unpacked once per clone into .cache/ and shared
# read-only by every node this clone runs (each node has its own config, data and logs dirs).
# Needs versions.sh, common.sh and maven.sh.

java_home() {
  local java
  java="$(readlink -f "$(command -v java)")" || die "no java on PATH (install-deps.sh installs openjdk-17)"
  dirname "$(dirname "$java")"
}

opensearch_dist_home() { echo "$REPO_CACHE/opensearch/opensearch-$OPENSEARCH_VERSION"; }

# ISM (index-state-management) needs job-scheduler too; both must match the node version exactly.
install_opensearch_ism() {
  local home=$1 v="$OPENSEARCH_PLUGIN_VERSION" js ism rc=0
  ism="$(maven_fetch org.opensearch.plugin opensearch-index-management "$v" zip)" || rc=$?
  if ((rc == 3)); then
    log "opensearch: ISM plugin org.opensearch.plugin:opensearch-index-management:$v is not on Maven Central; nodes run without ISM"
    echo absent >"$home/.sluice-ism"
    return 0
  fi
  ((rc == 0)) || die "could not fetch the ISM plugin (see maven's messages above)"
  js="$(maven_fetch org.opensearch.plugin opensearch-job-scheduler "$v" zip)" ||
    die "ISM found but its dependency opensearch-job-scheduler:$v is not on Maven Central"
  local z
  for z in "$js" "$ism"; do
    OPENSEARCH_JAVA_HOME="$(java_home)" "$home/bin/opensearch-plugin" install --batch "file://$z" >&2
  done
  echo installed >"$home/.sluice-ism"
}

# Idempotent: a no-op once the home is complete (the marker is written last).
provision_opensearch() {
  id -u "$OPENSEARCH_USER" >/dev/null 2>&1 ||
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$OPENSEARCH_USER"
  local home
  home="$(opensearch_dist_home)"
  [[ -f $home/.sluice-installed ]] && return 0
  local zip staging="$home.staging"
  zip="$(maven_fetch org.opensearch.distribution.integ-test-zip opensearch "$OPENSEARCH_VERSION" zip)" ||
    die "opensearch $OPENSEARCH_VERSION integ-test zip is not on Maven Central"
  log "opensearch: unpacking $OPENSEARCH_VERSION into $home"
  rm -rf "$staging" "$home"
  mkdir -p "$staging"
  unzip -q "$zip" -d "$staging"
  mv "$staging/opensearch-$OPENSEARCH_VERSION" "$home"
  rm -rf "$staging"
  install_opensearch_ism "$home"
  # Read-only for the node's user: everything it writes goes to its own run dir.
  chmod -R a+rX "$home"
  touch "$home/.sluice-installed"
}
