# A Maven Central artifact cached in the machine cache (survives fresh clones) and linked into the
# repo's .cache/. Prints the local path; returns 3 when the artifact is not published.
maven_fetch() {
  local group=$1 artifact=$2 version=$3 ext=$4
  local rel="${group//.//}/$artifact/$version/$artifact-$version.$ext"
  local repo_copy="$REPO_CACHE/maven/$rel" machine_copy="$MACHINE_CACHE/maven/$rel"
  if [[ ! -s $repo_copy ]]; then
    if [[ ! -s $machine_copy ]]; then
      mkdir -p "$(dirname "$machine_copy")"
      log "fetching $group:$artifact:$version:$ext with maven"
      # Maven's own client resolves from the configured Central repository and verifies checksums.
      local out
      if ! out="$(mvn -B -q dependency:copy -Dartifact="$group:$artifact:$version:$ext" \
        -DoutputDirectory="$(dirname "$machine_copy")" -Dmdep.overWriteReleases=true 2>&1)"; then
        if grep -qiE 'could not find artifact|unable to find artifact|was not found in|could not be resolved' <<<"$out"; then return 3; fi
        printf '%s\n' "$out" | tail -n 20 >&2
        die "maven could not fetch $group:$artifact:$version:$ext"
      fi
    fi
    mkdir -p "$(dirname "$repo_copy")"
    ln -f "$machine_copy" "$repo_copy" 2>/dev/null || cp "$machine_copy" "$repo_copy"
  fi
  echo "$repo_copy"
}
