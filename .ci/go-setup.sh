#!/usr/bin/env bash
# Installs Debian's Go toolchain and the mesos-go library (golang-github-mesos-mesos-go-dev,
# 0.0.6 on bookworm: its v1 HTTP API, httpsched, protobuf codec) for tests/it/clients/mesos_go.rs, which
# builds tests/compat/go/ offline (GOPATH mode over /usr/share/gocode) and runs it.
#
#   .ci/go-setup.sh
#
# Idempotent: when both are there it installs nothing.
set -euo pipefail

missing=()
command -v go >/dev/null 2>&1 || missing+=(golang-go)
[[ -d /usr/share/gocode/src/github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched ]] \
    || missing+=(golang-github-mesos-mesos-go-dev)

if ((${#missing[@]})); then
    sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    echo "go-setup.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    log="$(mktemp)"
    trap 'rm -f "$log"' EXIT
    { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1 || {
        tail -n 20 "$log" >&2
        echo "go-setup.sh: error: apt-get could not install ${missing[*]}" >&2
        exit 1
    }
fi
echo "go-setup.sh: $(go version), mesos-go from /usr/share/gocode"
