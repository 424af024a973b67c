#!/usr/bin/env bash
# Builds hwc and checks an example policy (default: examples/webserver.hw).
# Installs Rust first if cargo is missing. Extra arguments go to `hwc check`,
# e.g. `scripts/run-example.sh examples/seed.hw --format json`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_cargo
if [ $# -eq 0 ]; then
  set -- examples/webserver.hw
fi
exec cargo run --release --quiet -- check "$@"
