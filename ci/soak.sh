#!/usr/bin/env bash
# The soak test: examples/soak.rs built in release and run for a while
# (default 30 s; NBIO_SOAK_SECS overrides). Threads with a Poll each open and
# close loopback connections continuously, stream checksummed data both
# ways, move registrations between tokens; the run fails (non-zero exit)
# on any lost or corrupt byte, failed connection, leaked fd, RSS growth
# after warm-up, or 10 s without progress. Extra arguments go to the
# example (e.g. --threads 4).
#
# Uses $CARGO_TARGET_DIR when set (else target/). Needs nothing but cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${NBIO_SOAK_SECS:-30}
echo "soak: building (release)"
cargo build --release --example soak
bin="${CARGO_TARGET_DIR:-target}/release/examples/soak"
echo "soak: running for ${secs} s"
# The example has its own watchdog; `timeout` is the last resort if even
# that hangs (the connections still open at the deadline are finished, a
# few seconds at most).
timeout --kill-after=10 "$((secs + 60))" "$bin" --duration "$secs" "$@"
