#!/usr/bin/env bash
# Build the claude-like sandbox image without any image registry.
#
#   bash sandbox/build.sh            # builds $IMAGE (default below) unless it exists
#   FORCE=1 bash sandbox/build.sh    # rebuild base and image
#
# 1. debootstrap a minimal Debian rootfs from the apt mirror this machine uses
#    (read from /etc/apt/sources.list*, or set DEBIAN_MIRROR), with the tools preinstalled;
# 2. `docker import` it as $BASE_IMAGE;
# 3. `docker build` sandbox/Dockerfile on it as $IMAGE.
# Each step is skipped when its image tag already exists (cache between runs).
set -euo pipefail

# Keep in step with claude_like/sandbox/docker_image.py (a test checks they agree).
IMAGE="${IMAGE:-claude-like-sandbox:0.1}"
SUITE="${SUITE:-bookworm}"
BASE_IMAGE="${BASE_IMAGE:-claude-like-base:$SUITE}"
PACKAGES="python3,git,ripgrep,procps,ca-certificates"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf '[build.sh] %s\n' "$*" >&2; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

if ! docker info >/dev/null 2>&1; then
    log "the Docker engine is not reachable: start it (as root: bash .ci/docker.sh, or dockerd &)"
    exit 1
fi

if [ -z "${FORCE:-}" ] && have_image "$IMAGE"; then
    log "$IMAGE already exists; nothing to do (FORCE=1 to rebuild)"
    exit 0
fi

# The first Debian archive URI serving $SUITE in apt's sources (deb822 or one-line format).
find_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v suite="$SUITE" '
            /^[[:space:]]*$/ { if (uri != "" && ok) { print uri; exit } uri=""; ok=0; next }
            tolower($1) == "uris:" { uri=$2 }
            tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) ok=1 }
            END { if (uri != "" && ok) print uri }
        ' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        sed -e 's/\[[^]]*\]//' "$f" |
            awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2 }'
    done
}

if [ -n "${FORCE:-}" ] || ! have_image "$BASE_IMAGE"; then
    command -v debootstrap >/dev/null 2>&1 || {
        log "debootstrap is missing: apt-get install debootstrap"
        exit 1
    }
    mirror="${DEBIAN_MIRROR:-$(find_mirror | head -n 1)}"
    if [ -z "$mirror" ]; then
        log "no Debian mirror for '$SUITE' in /etc/apt/sources.list*: set DEBIAN_MIRROR=<url>"
        exit 1
    fi
    rootfs="$(mktemp -d /var/tmp/claude-like-rootfs.XXXXXX)"
    trap 'rm -rf "$rootfs"' EXIT
    log "debootstrap $SUITE from $mirror into $rootfs (a few minutes)"
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$mirror" \
        >"$rootfs.log" 2>&1 || {
        log "debootstrap failed; last lines of $rootfs.log:"
        tail -n 30 "$rootfs.log" >&2
        exit 1
    }
    rm -f "$rootfs.log"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
    log "docker import as $BASE_IMAGE"
    tar -C "$rootfs" --numeric-owner -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
fi

log "docker build $IMAGE on $BASE_IMAGE"
# Host network: a base that lacks the packages reaches the mirror without a bridge/NAT.
docker build --network host --build-arg "BASE=$BASE_IMAGE" -t "$IMAGE" "$here"
log "built $IMAGE"
