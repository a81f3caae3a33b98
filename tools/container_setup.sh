#!/usr/bin/env bash
# Make podman able to build and run the connector's image on this CI machine (no Docker engine,
# no registry): run ../shared/container-build/build-base.sh, which installs podman and imports the
# local base image localhost/py311-base, unless both are already there. Idempotent: a second run
# only checks. Used by .ci/run before `make test` (integration_tests/test_docker_image.py).
#
# Exits 0 without doing anything where ../shared/container-build does not exist (a laptop, another
# CI); the image test then skips unless a container tool works there.
set -euo pipefail
cd "$(dirname "$0")/.."

SHARED=../shared/container-build
BASE=localhost/py311-base
if [ ! -d "$SHARED" ]; then
  echo "container_setup: no $SHARED here; nothing to set up"
  exit 0
fi
SHARED=$(cd "$SHARED" && pwd)
# podman here needs runc and lower ulimits; the image test sets this too when it is unset.
export CONTAINERS_CONF=${CONTAINERS_CONF:-$SHARED/containers.conf}

if command -v podman >/dev/null 2>&1 && podman image exists "$BASE" 2>/dev/null; then
  echo "container_setup: podman and $BASE already present"
else
  echo "container_setup: building $BASE with $SHARED/build-base.sh (about 90 s)"
  started=$SECONDS
  "$SHARED/build-base.sh"
  echo "container_setup: base image ready in $((SECONDS - started)) s"
fi
podman info >/dev/null
podman image exists "$BASE"
echo "container_setup: podman $(podman --version | awk '{print $NF}'), $BASE ready; CONTAINERS_CONF=$CONTAINERS_CONF"
