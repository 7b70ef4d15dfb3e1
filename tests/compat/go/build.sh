#!/usr/bin/env bash
# Builds the Go compatibility programs offline against Debian's packages: golang-go and
# golang-github-mesos-mesos-go-dev (with its Depends) put the sources under /usr/share/gocode,
# and GOPATH mode finds them there; nothing is downloaded. Usage: build.sh OUT_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:?usage: build.sh OUT_DIR}"
mkdir -p "$out"
export GO111MODULE=off GOPROXY=off
export GOPATH="$here:/usr/share/gocode"
export GOCACHE="${GOCACHE:-$out/.gocache}"
for program in mmrun-go-scheduler mmrun-go-executor mmrun-go-v0-scheduler mmrun-go-v0-executor; do
    go build -o "$out/$program" "$program"
done
