#!/usr/bin/env bash
# Fuzzes the decoders of everything clients send the v1 APIs (both encodings, RecordIO) for a
# bounded time: `.ci/fuzz.sh [SECONDS]` (default 60). cargo-fuzz needs the nightly toolchain,
# which this machine kind carries; it is installed from crates.io when missing. A crash, a
# timeout or running out of memory fails the script and leaves the input in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-60}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
mkdir -p fuzz/corpus/decode_calls
cargo +nightly fuzz run decode_calls fuzz/corpus/decode_calls fuzz/seeds -- \
    -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10
