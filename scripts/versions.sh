# One place for the versions and names of what Sluice's scripts download or build; sourced by
# install-deps.sh, services.sh and build-images.sh.
# 2.19.x is the newest OpenSearch line that runs on JDK 17 (bookworm has no JDK 21; 3.x needs 21+).
OPENSEARCH_VERSION="${SLUICE_OPENSEARCH_VERSION:-2.19.6}"
# ISM and job-scheduler must match the node version exactly (their 4th digit is the plugin build).
OPENSEARCH_PLUGIN_VERSION="$OPENSEARCH_VERSION.0"
# OpenSearch refuses to run as root.
OPENSEARCH_USER=sluice-os
# No registry is reachable: the smallest base image is made from the host's static busybox.
BASE_IMAGE=sluice/base:busybox
# The JetStream cluster's nats-server, built from the Go module proxy by scripts/build-nats-server.sh
# (Debian ships 2.9; the single dev/test server stays on it).
NATS_SERVER_VERSION="${SLUICE_NATS_SERVER_VERSION:-v2.15.2}"
