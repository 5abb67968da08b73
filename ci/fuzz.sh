#!/usr/bin/env bash
# Model-based fuzzing of the registration state machine: builds the
# cargo-fuzz target fuzz/fuzz_targets/registration.rs (debug assertions and
# AddressSanitizer on) and runs it for a fixed time on a scratch copy of the
# seed corpus, so the tree stays clean. Fails on any crash, panic, leak or
# hang; the crash input lands in fuzz/artifacts/registration/ and the log
# shows the operations that failed (replay: cargo +NIGHTLY fuzz run
# registration fuzz/artifacts/registration/crash-..., with NBIO_FUZZ_TRACE=1
# for the trace of every poll).
#
# Installs what is missing: the pinned nightly toolchain and cargo-fuzz.
#
# Environment (all optional):
#   NBIO_FUZZ_SECONDS   run time per backend (default 60)
#   NBIO_FUZZ_SEED      libFuzzer's -seed (default 1: reproducible runs)
#   NBIO_FUZZ_POLL=1    also fuzz the poll(2) selector (--cfg nbio_force_poll)
#                       for the same time, in a build of its own
#   CARGO_TARGET_DIR    where to build (default fuzz/target)
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain=nightly-2026-07-20
cargo_fuzz_version=0.13.2
seconds=${NBIO_FUZZ_SECONDS:-60}
seed=${NBIO_FUZZ_SEED:-1}
target_dir=${CARGO_TARGET_DIR:-$PWD/fuzz/target}

step() { printf '\n==> %s\n' "$*"; }

if ! rustup toolchain list | grep -q "^$toolchain"; then
    step "installing $toolchain"
    # Another rustup may hold the lock (parallel installs): retry a while.
    for attempt in 1 2 3 4 5 6; do
        if rustup toolchain install "$toolchain" --profile minimal --component rust-src; then
            break
        fi
        [ "$attempt" -lt 6 ] || exit 1
        sleep 20
    done
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    step "installing cargo-fuzz $cargo_fuzz_version (about 2 minutes, once per machine)"
    cargo install --locked "cargo-fuzz@$cargo_fuzz_version"
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# fuzz BACKEND RUSTFLAGS: build and run one configuration.
fuzz() {
    local name=$1 flags=$2 dir=$target_dir
    [ -z "$flags" ] || dir=$target_dir/$name
    step "fuzz target 'registration' on $name: build"
    RUSTFLAGS="$flags" cargo "+$toolchain" fuzz build --debug-assertions \
        --target-dir "$dir" registration
    step "fuzz target 'registration' on $name: ${seconds}s (seed $seed)"
    rm -rf "$scratch/corpus"
    mkdir "$scratch/corpus"
    cp fuzz/corpus/registration/seed-* "$scratch/corpus/"
    # -timeout: one input taking a minute is a hang (they take milliseconds).
    # -max_len: byte 0 and 256 two-byte operations; the rest is ignored.
    # The NEW/REDUCE lines (one per corpus change) and the recommended
    # dictionary are left out of the log.
    set +e
    RUSTFLAGS="$flags" cargo "+$toolchain" fuzz run --debug-assertions \
        --target-dir "$dir" registration "$scratch/corpus" -- \
        -max_total_time="$seconds" -seed="$seed" -timeout=60 -max_len=513 \
        -print_final_stats=1 2>&1 |
        grep -v -e '^#[0-9]*[[:space:]]*\(NEW\|REDUCE\)' -e '^"' -e '^###### '
    local status=${PIPESTATUS[0]}
    set -e
    if [ "$status" -ne 0 ]; then
        echo "!!! fuzzing failed on $name (status $status): see above; the input is in fuzz/artifacts/registration/" >&2
        exit 1
    fi
}

fuzz epoll ""
if [ "${NBIO_FUZZ_POLL:-0}" = 1 ]; then
    fuzz poll "--cfg nbio_force_poll"
fi
step "fuzzing passed"
