#!/usr/bin/env bash
# Runs every check: formatting, clippy, all tests (unit, UI, CLI, property
# and kernel tests), and compiles the benchmarks. This is what CI runs
# (.ci/run). On a fresh Debian machine, run it as root once so that it can
# install the tools the kernel tests need.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

# The kernel tests load generated rulesets into network namespaces.
apt_install_missing iptables nftables iproute2
# The HTML report is rendered in headless Chromium (tests/report.rs).
apt_install_missing chromium fonts-dejavu-core
# tests/precommit.rs installs the real pre-commit into a virtualenv.
apt_install_missing python3 python3-venv python3-pip git
ensure_cargo
ensure_component fmt rustfmt
ensure_component clippy clippy

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings
log "cargo test --all-targets"
cargo test --all-targets
log "cargo bench --no-run"
cargo bench --no-run
log "all checks passed"
