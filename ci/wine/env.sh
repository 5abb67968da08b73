# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this
# Shared settings for ci/wine/setup and ci/wine/runner (sourced, not run).
#
# Everything Wine writes lives under NBIO_WINE_HOME (default
# /tmp/nbio-wine-<uid>): the prefix, the built stand-in DLL and the lock that
# serialises first-time initialisation when cargo starts several test
# binaries at once.

NBIO_WINE_HOME=${NBIO_WINE_HOME:-/tmp/nbio-wine-$(id -u)}
NBIO_WINE_BUILD=$NBIO_WINE_HOME/build
NBIO_WINE_LOCK=$NBIO_WINE_HOME/lock
export NBIO_WINE_HOME

export WINEPREFIX=${NBIO_WINEPREFIX:-$NBIO_WINE_HOME/prefix}
export WINEARCH=win64
# No Wine debug chatter on stderr (set NBIO_WINEDEBUG to get some back).
export WINEDEBUG=${NBIO_WINEDEBUG:--all}
# Never offer to download Mono or Gecko, and use our bcryptprimitives.dll
# (the native one in system32) when Wine has no builtin of its own.
export WINEDLLOVERRIDES="mscoree,mshtml=;bcryptprimitives=n,b"
# Headless: no X11/Wayland display, so nothing tries to open a window.
unset DISPLAY WAYLAND_DISPLAY

# How long the wineserver lingers once the last Windows process has exited:
# keeps it warm between test binaries, yet it cannot outlive CI by more than
# this many seconds even if nobody runs `wineserver -k`.
NBIO_WINESERVER_LINGER=${NBIO_WINESERVER_LINGER:-60}

# The prefix is usable once this file exists (written last by setup).
NBIO_WINE_STAMP=$WINEPREFIX/.nbio-ready
