#!/usr/bin/env bash
# Installs faass for the current user: programs, man pages, gateway units, an example function.
# Usage: ./install.sh [--prefix DIR] [--port PORT] [--idle SECONDS] [--uninstall [--purge]]
# See faassctl(1) and README.md.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PREFIX=${HOME}/.local
PORT=""
IDLE=""
UNINSTALL=0
PURGE=0

usage() {
  cat <<USAGE
Usage: ./install.sh [--prefix DIR] [--port PORT] [--idle SECONDS]
       ./install.sh --uninstall [--purge]

Installs faass into PREFIX (default ~/.local): programs in PREFIX/bin, man pages in
PREFIX/share/man, the gateway's socket and service in \$XDG_CONFIG_HOME/systemd/user,
listening on 127.0.0.1:PORT (default 8080), and an example function "hello".
Running it again changes nothing. --uninstall removes what it installed; --purge also
removes every function and faass's settings. See faassctl(1).
USAGE
}

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

parse_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
      --port) PORT=${2:?--port needs a number}; shift 2 ;;
      --idle) IDLE=${2:?--idle needs seconds}; shift 2 ;;
      --uninstall) UNINSTALL=1; shift ;;
      --purge) PURGE=1; shift ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown option $1" ;;
    esac
  done
  case $PORT in ''|*[!0-9]*) [ -z "$PORT" ] || die "--port must be a number, got $PORT" ;; esac
  case $IDLE in ''|*[!0-9.]*) [ -z "$IDLE" ] || die "--idle must be seconds, got $IDLE" ;; esac
  [ "$PURGE" = 0 ] || [ "$UNINSTALL" = 1 ] || die "--purge goes with --uninstall"
  PREFIX=$(mkdir -p "$PREFIX" && cd "$PREFIX" && pwd)
  LIB=$PREFIX/lib/faass
  BIN=$PREFIX/bin
  MAN=$PREFIX/share/man
  UNIT_DIR=${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user
}

has_node() { command -v node >/dev/null 2>&1 && node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; }
has_systemd() { command -v systemctl >/dev/null 2>&1; }
has_user_manager() { has_systemd && systemctl --user show --property=Version 2>/dev/null | grep -q '^Version='; }

verify_system() {
  has_node || die "Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none)); install it, e.g. apt-get install nodejs npm"
  command -v npm >/dev/null 2>&1 || die "npm is needed; install it, e.g. apt-get install npm"
  has_systemd || say "systemd not found: faass will run with 'faassctl serve' instead of socket activation"
}

install_package() {
  cd "$SRC"
  if [ ! -d node_modules/sd-notify ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing dependencies (npm ci)"
    npm ci --no-audit --no-fund >/dev/null || die "npm ci failed; the sd-notify and unix-dgram addons need python3, make and g++ to build (sd-notify also libsystemd-dev and pkg-config)"
  fi
  if [ ! -f dist/.built ] || [ -n "$(find src package.json tsconfig.json -newer dist/.built -print -quit)" ]; then
    say "building"
    npm run build >/dev/null || die "npm run build failed"
    touch dist/.built
  fi
  # Production files only: dist/, package.json and the runtime dependencies' folders.
  local stage
  stage=$(mktemp -d "${PREFIX}/lib/.faass.XXXXXX" 2>/dev/null || { mkdir -p "$PREFIX/lib"; mktemp -d "${PREFIX}/lib/.faass.XXXXXX"; })
  cp -a dist package.json "$stage/"
  rm -f "$stage/dist/.built"
  local dir
  npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2 | while IFS= read -r dir; do
    mkdir -p "$stage/${dir#"$SRC"/}"
    cp -a "$dir/." "$stage/${dir#"$SRC"/}/"
  done
  if [ -d "$LIB" ] && diff -rq "$stage" "$LIB" >/dev/null 2>&1; then
    rm -rf "$stage"
  else
    rm -rf "$LIB.old"
    [ ! -d "$LIB" ] || mv "$LIB" "$LIB.old"
    mv "$stage" "$LIB"
    rm -rf "$LIB.old"
    say "installed programs in $LIB"
  fi
}

install_bins() {
  mkdir -p "$BIN"
  local b
  for b in faassctl:faassctl faass-gateway:gateway faass-runner:runner; do
    ln -sfn "$LIB/dist/${b#*:}/main.js" "$BIN/${b%%:*}"
  done
  case ":$PATH:" in *":$BIN:"*) ;; *) say "add $BIN to your PATH" ;; esac
}

install_man() {
  local page section
  for page in "$SRC"/man/man*/*.[0-9]; do
    section=${page##*.}
    mkdir -p "$MAN/man$section"
    cmp -s "$page" "$MAN/man$section/$(basename "$page")" || cp "$page" "$MAN/man$section/"
  done
}

install_units() {
  local args=()
  [ -z "$PORT" ] || args+=(--port "$PORT")
  [ -z "$IDLE" ] || args+=(--idle "$IDLE")
  local before after
  before=$(cat "$UNIT_DIR/faass-gateway.socket" 2>/dev/null || true)
  "$BIN/faassctl" init "${args[@]}"
  "$BIN/faassctl" generate-units
  after=$(cat "$UNIT_DIR/faass-gateway.socket")
  if has_user_manager; then
    systemctl --user enable --now faass-gateway.socket >/dev/null 2>&1 || die "could not enable faass-gateway.socket (systemctl --user status faass-gateway.socket)"
    # A changed address takes effect only when the socket is bound again.
    [ "$before" = "$after" ] || [ -z "$before" ] || systemctl --user restart faass-gateway.socket
  else
    say "no systemd user manager is reachable (systemctl --user): units are written but not running."
    say "start one (loginctl enable-linger \$USER) and re-run, or run 'faassctl serve' in the foreground instead."
  fi
}

install_example() {
  if ! "$BIN/faassctl" describe hello >/dev/null 2>&1; then
    "$BIN/faassctl" deploy hello --runtime node --from-file "$SRC/examples/hello/handler.js"
  fi
}

uninstall() {
  if [ -x "$BIN/faassctl" ] && [ "$PURGE" = 1 ]; then
    local fn
    for fn in $("$BIN/faassctl" list | cut -f1); do "$BIN/faassctl" delete "$fn" || true; done
  fi
  if has_user_manager; then
    local s
    for s in faass-gateway.socket faass-gateway-https.socket faass-api.socket; do systemctl --user disable --now "$s" >/dev/null 2>&1 || true; done
    systemctl --user stop 'faass-*' >/dev/null 2>&1 || true
  fi
  local f
  for f in "$UNIT_DIR"/faass-*; do
    [ -f "$f" ] && head -n1 "$f" | grep -q '^# Generated by faassctl' && rm -f "$f"
  done
  has_user_manager && systemctl --user daemon-reload
  rm -f "$BIN/faassctl" "$BIN/faass-gateway" "$BIN/faass-runner"
  rm -f "$MAN/man1/faassctl.1" "$MAN/man5/faass.conf.5" "$MAN/man8/faass-gateway.8" "$MAN/man8/faass-runner.8"
  rm -rf "$LIB"
  if [ "$PURGE" = 1 ]; then
    rm -rf "${XDG_CONFIG_HOME:-$HOME/.config}/faass" "${XDG_DATA_HOME:-$HOME/.local/share}/faass" "${XDG_STATE_HOME:-$HOME/.local/state}/faass"
  fi
  say "uninstalled from $PREFIX$([ "$PURGE" = 1 ] && echo ', functions purged' || echo '; functions kept (--purge removes them)')"
}

main() {
  parse_args "$@"
  if [ "$UNINSTALL" = 1 ]; then uninstall; return; fi
  verify_system
  install_package
  install_bins
  install_man
  install_units
  install_example
  say "done: try  curl -d you http://$(sed -n 's/^listen=//p' "${XDG_CONFIG_HOME:-$HOME/.config}/faass/faass.conf")/function/hello"
}

main "$@"
