#!/usr/bin/env bash
# Supply-chain check with cargo-deny: licenses, banned/duplicate crates and
# sources (crates.io only) for nbio and for compat/tokio-check, both with
# the repository's deny.toml. Installs cargo-deny when missing (a few
# minutes, once per machine).
#
# The advisories check is not run: it needs the RustSec database from a git
# host, which CI cannot reach (see deny.toml). cargo-deny runs --offline;
# the crates it reads are fetched first through cargo (crates.io).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo deny --version >/dev/null 2>&1; then
    echo "deny: installing cargo-deny (a few minutes, once per machine)"
    cargo install --locked cargo-deny
fi
cargo deny --version

checks=(bans licenses sources)

echo "deny: nbio"
cargo fetch
cargo deny --offline check "${checks[@]}"

echo "deny: compat/tokio-check"
(
    cd compat/tokio-check
    cargo fetch --locked
    cargo deny --offline --config ../../deny.toml check "${checks[@]}"
)
