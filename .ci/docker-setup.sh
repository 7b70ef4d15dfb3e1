#!/usr/bin/env bash
# Optional: installs busybox for mmrun's images, for CI.
#
#   .ci/docker-setup.sh
#
# mmrun needs nothing but a Docker daemon: without busybox it builds its images (offline, FROM
# scratch, on first use) from the host's own /bin/sh and core tools. CI installs
# - busybox-static: then the images' userland is /bin/busybox with its applets, so CI's Docker
#   tests cover that userland too (tests build the other, from the host's tools, explicitly);
# - ldd (libc-bin), which any glibc host has: lists the shared libraries copied in beside the
#   mmrun binary and the tools.
#
# Idempotent: when both are there it installs nothing and only prints one line. It does not
# start Docker; it says whether a daemon answers. Pre-build the node image afterwards with
# `cargo run -- image build` (or `mmrun image build`).
set -euo pipefail

missing=()
# Debian's dynamic `busybox` would do too (mmrun copies its libraries along), so any working
# /bin/busybox with a sh applet is accepted.
if ! { [[ -x /bin/busybox ]] && /bin/busybox --list 2>/dev/null | grep -qx sh; }; then
    missing+=(busybox-static)
fi
command -v ldd >/dev/null 2>&1 || missing+=(libc-bin)

if ((${#missing[@]})); then
    sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    echo "docker-setup.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    log="$(mktemp)"
    trap 'rm -f "$log"' EXIT
    { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1 || {
        tail -n 20 "$log" >&2
        echo "docker-setup.sh: error: apt-get could not install ${missing[*]}" >&2
        exit 1
    }
fi

/bin/busybox --list | grep -qx sh || { echo "docker-setup.sh: error: /bin/busybox has no sh applet" >&2; exit 1; }
if docker_version="$(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null)"; then
    daemon="Docker $docker_version answers"
else
    daemon="no Docker daemon answers (the Docker tests will skip unless MMRUN_REQUIRE_DOCKER=1)"
fi
echo "docker-setup.sh: busybox-static and ldd ready; $daemon"
