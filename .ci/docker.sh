#!/usr/bin/env bash
# Give this machine a running Docker engine and the sandbox image. Idempotent; run as root.
#
#   bash .ci/docker.sh
#
# 1. installs Debian's docker.io and debootstrap when they are missing;
# 2. starts dockerd in the background when `docker info` does not answer (log: $DOCKERD_LOG);
# 3. builds the sandbox image with sandbox/build.sh (skipped when the tag already exists).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/claude-like-dockerd.log}"

log() { printf '[docker.sh] %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
    log "must run as root (it installs packages and starts dockerd)"
    exit 1
fi

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v ps >/dev/null 2>&1 || need+=(procps)
if [ "${#need[@]}" -gt 0 ]; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

engine_up() { docker info >/dev/null 2>&1; }

# A daemon killed with its session leaves its pid file behind, and a new dockerd then
# refuses to start (or waits on a containerd that is gone): drop pid files of dead processes.
drop_stale_pidfile() {
    local pidfile="$1" name="$2" st="" comm=""
    [ -f "$pidfile" ] || return 0
    read -r st comm < <(ps -p "$(cat "$pidfile")" -o stat=,comm= 2>/dev/null || true) || true
    if [ "$comm" != "$name" ] || [[ "$st" == Z* ]]; then
        rm -f "$pidfile"
    fi
}

# Start dockerd with the given flags and wait until it answers or exits.
start_dockerd() {
    drop_stale_pidfile /var/run/docker.pid dockerd
    drop_stale_pidfile /var/run/docker/containerd/containerd.pid containerd
    log "starting dockerd $* (log: $DOCKERD_LOG)"
    nohup dockerd "$@" >>"$DOCKERD_LOG" 2>&1 </dev/null &
    dockerd_pid=$!
    for _ in $(seq 1 60); do
        engine_up && return 0
        kill -0 "$dockerd_pid" 2>/dev/null || return 1
        sleep 1
    done
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
    return 1
}

if ! engine_up; then
    # The sandbox runs with network "none" and the image builds with the host network, so
    # when the default bridge (iptables NAT) cannot be set up, do without it.
    if ! start_dockerd && ! start_dockerd --iptables=false --bridge=none; then
        log "dockerd failed to start; last lines of $DOCKERD_LOG:"
        tail -n 30 "$DOCKERD_LOG" >&2 || true
        exit 1
    fi
fi
log "engine up: $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"

# Containers of sandboxes whose process died without cleaning up (killed sessions).
stale="$(docker ps -aq --filter label=claude-like=1 --filter status=exited --filter status=created)"
if [ -n "$stale" ]; then
    log "removing $(echo "$stale" | wc -l) stopped claude-like container(s)"
    # shellcheck disable=SC2086
    docker rm -f $stale >/dev/null || true
fi

bash "$here/sandbox/build.sh"
