#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info`; start one if we can (root), explain otherwise.
# Idempotent and quick when the engine is already up. Used by CI and by the setup script.
#
#   scripts/ensure_docker.sh            # default: wait up to 60 s for the engine
#   DOCKERD_LOG=/path/log DOCKER_WAIT_S=90 scripts/ensure_docker.sh
set -euo pipefail

WAIT_S="${DOCKER_WAIT_S:-60}"
LOG="${DOCKERD_LOG:-/var/log/sciswarm-dockerd.log}"

engine_up() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_up; then
    echo "docker: engine already running ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    cat >&2 <<'MSG'
docker: the engine does not answer `docker info` and this script is not running as root.
Install and start it (Debian/Ubuntu):
    sudo apt-get install -y docker.io
    sudo systemctl enable --now docker        # or: sudo dockerd &
    sudo usermod -aG docker "$USER"           # then log out and back in
Or run sciswarm with `--provider local` (NOT an isolation boundary).
MSG
    exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
    echo "docker: dockerd missing, installing docker.io with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker.io >/dev/null
fi

if pgrep -x dockerd >/dev/null 2>&1; then
    echo "docker: dockerd is running but not answering yet; waiting"
else
    # A stale pid file from a killed daemon makes dockerd refuse to start.
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        rm -f /var/run/docker.pid
    fi
    mkdir -p "$(dirname "$LOG")"
    echo "docker: starting dockerd in the background (log: $LOG)"
    # setsid + nohup: the daemon must outlive this shell and its session.
    setsid nohup dockerd >>"$LOG" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$((WAIT_S * 2))"); do
    if engine_up; then
        echo "docker: engine up ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
        exit 0
    fi
    sleep 0.5
done

echo "docker: engine did not answer within ${WAIT_S}s; last lines of $LOG:" >&2
tail -n 30 "$LOG" >&2 || true
exit 1
