#!/usr/bin/env bash
# Installs Apache ZooKeeper (Debian's `zookeeper` package, 3.8, with its Java runtime) for the
# tests that run a real ZooKeeper: as a child process, and in the mmrun-zookeeper image built
# from these same files.
#
#   .ci/zookeeper-setup.sh
#
# Idempotent: when the jars and java are there it installs nothing and prints one line. It
# installs no service: the package's own server is never started (mmrun starts its own).
set -euo pipefail

missing=()
[[ -f /usr/share/java/zookeeper.jar ]] || missing+=(zookeeper)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)

if ((${#missing[@]})); then
    sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    echo "zookeeper-setup.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    log="$(mktemp)"
    trap 'rm -f "$log"' EXIT
    { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1 || {
        tail -n 20 "$log" >&2
        echo "zookeeper-setup.sh: error: apt-get could not install ${missing[*]}" >&2
        exit 1
    }
fi

[[ -f /usr/share/java/zookeeper.jar ]] || { echo "zookeeper-setup.sh: error: no /usr/share/java/zookeeper.jar after installing" >&2; exit 1; }
jar="$(ls /usr/share/java/zookeeper-[0-9]*.jar 2>/dev/null | head -n 1)"
echo "zookeeper-setup.sh: $(basename "${jar:-zookeeper.jar}" .jar) and $(java -version 2>&1 | head -n 1) ready"
