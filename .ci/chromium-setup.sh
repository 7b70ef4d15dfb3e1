#!/usr/bin/env bash
# Installs Chromium (Debian's `chromium` package) for the web UI tests, which drive a headless
# Chromium over the DevTools protocol (tests/it/common/chromium.rs).
#
#   .ci/chromium-setup.sh
#
# Idempotent: when `chromium` is on PATH it installs nothing and prints one line.
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1; then
    sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    echo "chromium-setup.sh: installing chromium"
    export DEBIAN_FRONTEND=noninteractive
    log="$(mktemp)"
    trap 'rm -f "$log"' EXIT
    { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium; } >"$log" 2>&1 || {
        tail -n 20 "$log" >&2
        echo "chromium-setup.sh: error: apt-get could not install chromium" >&2
        exit 1
    }
fi

command -v chromium >/dev/null 2>&1 || { echo "chromium-setup.sh: error: no chromium on PATH after installing" >&2; exit 1; }
echo "chromium-setup.sh: $(chromium --version 2>/dev/null | head -n 1) ready"
