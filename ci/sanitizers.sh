#!/usr/bin/env bash
# The per-check subshells set their own environment on purpose:
# shellcheck disable=SC2030,SC2031
# AddressSanitizer and ThreadSanitizer over nbio's whole test suite (unit,
# integration and doctests; the examples that tests/examples.rs runs are
# instrumented too). The standard library is rebuilt with the same
# sanitizer (-Zbuild-std), so std's own code is checked and its
# synchronisation is visible to TSan (no false positives from an
# uninstrumented std).
#
# * ASan: out-of-bounds accesses, use after free, double free; its
#   LeakSanitizer reports memory still allocated at exit. LeakSanitizer
#   cannot run in a traced process, so tests/syscall_count.rs (which runs
#   the tests under strace) gets ASan without the leak check.
# * TSan: data races, including between nbio's threads and the kernel-side
#   handoffs it models with atomics.
#
# Each sanitizer has its own target dir. Prints one line per check; exits
# non-zero if any fails, after showing the end of its log.
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain=nightly-2026-07-20
target=x86_64-unknown-linux-gnu
base=${CARGO_TARGET_DIR:-$PWD/target}
logs=$base/sanitizer-logs
mkdir -p "$logs"

# The toolchain and rust-src (for -Zbuild-std), only when missing.
if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1 ||
    ! rustup component list --toolchain "$toolchain" --installed 2>/dev/null | grep -q '^rust-src'; then
    rustup toolchain install "$toolchain" --profile minimal --component rust-src
fi

# Every test target but tests/syscall_count.rs, by name, so new test files
# are picked up.
targets=(--lib)
for file in tests/*.rs; do
    name=$(basename "$file" .rs)
    [ "$name" = syscall_count ] || targets+=(--test "$name")
done

failed=0
# check NAME LOG-NAME CARGO-ARGS...: runs one `cargo test` and reports it.
check() {
    local name=$1 log=$logs/$2.log
    shift 2
    local start=$SECONDS status=0
    cargo "+$toolchain" test -Zbuild-std --target "$target" --all-features "$@" \
        >"$log" 2>&1 || status=$?
    local counts
    counts=$(awk '/^test result:/ { p += $4; f += $6; i += $8 }
        END { printf "%d passed, %d failed, %d ignored", p, f, i }' "$log")
    if [ "$status" -eq 0 ]; then
        echo "sanitizers: $name ok: $counts ($((SECONDS - start))s)"
    else
        echo "sanitizers: $name FAILED: $counts ($((SECONDS - start))s); end of $log:"
        tail -n 80 "$log"
        failed=1
    fi
}

total_start=$SECONDS
(
    export CARGO_TARGET_DIR=$base/asan
    export RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address"
    export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1"
    # tests/examples.rs runs the examples that `cargo test` builds; with
    # explicit targets they must be built first.
    cargo "+$toolchain" build -Zbuild-std --target "$target" --all-features --examples \
        >"$logs/asan-examples.log" 2>&1 ||
        { echo "sanitizers: ASan build of the examples FAILED:"; tail -n 40 "$logs/asan-examples.log"; exit 1; }
    check "ASan + LeakSanitizer, unit and integration tests" asan-tests --no-fail-fast "${targets[@]}"
    check "ASan + LeakSanitizer, doctests" asan-doc --doc
    ASAN_OPTIONS="detect_leaks=0:detect_stack_use_after_return=1" \
        check "ASan (no leak check: runs under strace), tests/syscall_count.rs" asan-syscall-count \
        --test syscall_count
    exit "$failed"
) || failed=1
(
    export CARGO_TARGET_DIR=$base/tsan
    export RUSTFLAGS="-Zsanitizer=thread" RUSTDOCFLAGS="-Zsanitizer=thread"
    check "TSan, whole suite (unit, integration, doctests)" tsan --no-fail-fast
    exit "$failed"
) || failed=1
echo "sanitizers: all checks took $((SECONDS - total_start))s"
exit "$failed"
