#!/usr/bin/env bash
# The per-check subshells set their own environment on purpose:
# shellcheck disable=SC2030,SC2031
# Miri over nbio's tests: the integration tests, the unit tests and the
# doctests on the default backends (epoll, eventfd waker), and the
# integration and unit tests once more on the poll(2) selector
# (`--cfg nbio_force_poll`). Miri interprets the code and stops at undefined
# behaviour: out-of-bounds or misaligned accesses, use after free, invalid
# values, aliasing violations (Stacked Borrows), data races, and, through
# its weak-memory emulation, atomics whose orderings are too weak.
#
# What Miri cannot run (UDP and Unix-domain sockets other than
# socketpair, child processes, signals, /proc, some socket options and
# ioctls) is marked `#[cfg_attr(miri, ignore = "...")]` in the tests, which
# then show as ignored with the reason; the doctests it cannot run are
# skipped below. Stress loops run fewer rounds under Miri (`cfg!(miri)`).
#
# The two backends run side by side (Miri is single-threaded) in target
# dirs of their own. Prints one line per check; exits non-zero if any fails,
# after showing the end of its log.
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain=nightly-2026-07-20
base=${CARGO_TARGET_DIR:-$PWD/target}
logs=$base/miri-logs
mkdir -p "$logs"

# The toolchain and its components, only when missing (RUSTUP_AUTO_INSTALL
# may be off, so `cargo +nightly-...` would not install it by itself).
if ! cargo "+$toolchain" miri --version >/dev/null 2>&1 ||
    ! rustup component list --toolchain "$toolchain" --installed 2>/dev/null | grep -q '^rust-src'; then
    rustup toolchain install "$toolchain" --profile minimal --component miri,rust-src
fi

# -Zmiri-disable-isolation: the tests use real sockets, clocks and the
# environment. -Zmiri-strict-provenance: no integer-to-pointer casts.
export MIRIFLAGS="-Zmiri-disable-isolation -Zmiri-strict-provenance"
# The sysroot once, before the two runs could race to build it.
if ! setup_output=$(cargo "+$toolchain" miri setup 2>&1); then
    echo "miri: sysroot setup FAILED:"
    echo "$setup_output"
    exit 1
fi

# The doctests Miri cannot run: they create UDP or Unix-domain sockets.
doc_skips=(
    --skip 'net::udp::UdpSocket (line'
    --skip 'net::uds::datagram::UnixDatagram (line'
    --skip 'net::uds::listener::UnixListener (line'
    --skip 'sys::unix::sourcefd::SourceFd (line'
)

# Runs `cargo miri test` with the given arguments, logging to $1.log.
miri_test() {
    local log=$logs/$1.log
    shift
    cargo "+$toolchain" miri test --all-features "$@" >"$log" 2>&1
}

# Prints the one-line result of a check from its log and exit status.
report() {
    local name=$1 status=$2 seconds=$3 log=$logs/$4.log
    local counts
    counts=$(awk '/^test result:/ { p += $4; f += $6; i += $8 }
        END { printf "%d passed, %d failed, %d ignored", p, f, i }' "$log")
    if [ "$status" -eq 0 ]; then
        echo "miri: $name ok: $counts (${seconds}s)"
    else
        echo "miri: $name FAILED: $counts (${seconds}s); end of $log:"
        tail -n 60 "$log"
    fi
}

# Each backend: a sequence of checks in the background, results in files.
run_backend() {
    local backend=$1
    shift
    local start status
    for check in "$@"; do
        start=$SECONDS
        status=0
        case $check in
        tests) miri_test "$backend-$check" --no-fail-fast --test '*' || status=$? ;;
        lib) miri_test "$backend-$check" --lib || status=$? ;;
        doc) miri_test "$backend-$check" --doc -- "${doc_skips[@]}" || status=$? ;;
        esac
        echo "$check $status $((SECONDS - start))" >>"$logs/$backend.results"
    done
}

rm -f "$logs"/*.results
total_start=$SECONDS
(
    export CARGO_TARGET_DIR=$base/miri-epoll
    run_backend epoll tests lib doc
) &
epoll_pid=$!
(
    # mio too, for the differential tests (as in .ci/run's poll(2) runs).
    export CARGO_TARGET_DIR=$base/miri-poll
    export RUSTFLAGS="--cfg nbio_force_poll --cfg mio_unsupported_force_poll_poll"
    run_backend poll tests lib
) &
poll_pid=$!
wait "$epoll_pid" || true
wait "$poll_pid" || true

failed=0
for backend in epoll poll; do
    if [ ! -s "$logs/$backend.results" ]; then
        echo "miri: $backend runs FAILED: no results (see $logs)"
        failed=1
        continue
    fi
    while read -r check status seconds; do
        case $check in
        tests) what="integration tests" ;;
        lib) what="unit tests" ;;
        doc) what="doctests" ;;
        esac
        if [ "$backend" = poll ]; then what="$what (poll(2) selector)"; fi
        report "$what" "$status" "$seconds" "$backend-$check"
        [ "$status" -eq 0 ] || failed=1
    done <"$logs/$backend.results"
done
echo "miri: all checks took $((SECONDS - total_start))s"
exit "$failed"
