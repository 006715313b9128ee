#!/usr/bin/env bash
# Installs faass for the current user: system packages it lacks, programs, man pages, shell
# completion, gateway units, an example function; then checks that the gateway answers.
# Usage: ./install.sh [--prefix DIR] [--port PORT] [--console-port PORT] [--idle SECONDS] [--uninstall [--purge]]
# See faassctl(1) and README.md.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PREFIX=${HOME}/.local
PORT=""
CONSOLE_PORT=""
IDLE=""
UNINSTALL=0
PURGE=0
MANAGER=0
# The dependencies node-gyp builds (package.json's native addons): they need Node's headers,
# python3, make and g++, and sd-notify also libsystemd-dev and pkg-config.
NATIVE_ADDONS=(sd-notify unix-dgram)
# What every faassctl call says when no user manager is reachable; install.sh says it once.
UNREACHABLE='no systemd user manager is reachable'

usage() {
  cat <<USAGE
Usage: ./install.sh [--prefix DIR] [--port PORT] [--console-port PORT] [--idle SECONDS]
       ./install.sh --uninstall [--purge]

Installs faass into PREFIX (default ~/.local): programs in PREFIX/bin, man pages in
PREFIX/share/man, bash completion in PREFIX/share/bash-completion, the gateway's socket and
service in \$XDG_CONFIG_HOME/systemd/user, listening on 127.0.0.1:PORT (default 8080), and
an example function "hello"; system packages it lacks are installed with apt-get (as root or
through sudo). With a systemd user manager it starts the gateway and exits non-zero unless
hello answers through it; without one it starts nothing: run 'faassctl serve'.
--console-port PORT turns the web console on, at http://127.0.0.1:PORT/ui/: an address
of its own, apart from the functions' (faass-gateway(8)); without it there is no console.
Running it again changes nothing. --uninstall removes what it installed; --purge also
removes every function and faass's settings. See faassctl(1).
USAGE
}

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

parse_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; PREFIX=$2; shift 2 ;;
      --port) [ $# -ge 2 ] || die "--port needs a number"; PORT=$2; shift 2 ;;
      --console-port) [ $# -ge 2 ] || die "--console-port needs a number"; CONSOLE_PORT=$2; shift 2 ;;
      --idle) [ $# -ge 2 ] || die "--idle needs seconds"; IDLE=$2; shift 2 ;;
      --uninstall) UNINSTALL=1; shift ;;
      --purge) PURGE=1; shift ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown option $1" ;;
    esac
  done
  # Checked before anything is installed: faassctl init would refuse a port past 65535 only
  # after the programs, man pages and completion were in place.
  case $PORT in ''|*[!0-9]*) [ -z "$PORT" ] || die "--port must be a number, got $PORT" ;; esac
  case $CONSOLE_PORT in ''|*[!0-9]*) [ -z "$CONSOLE_PORT" ] || die "--console-port must be a number, got $CONSOLE_PORT" ;; esac
  for p in "$PORT" "$CONSOLE_PORT"; do
    [ -z "$p" ] || { [ "${#p}" -le 5 ] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ]; } || die "a port is a number from 1 to 65535, got $p"
  done
  case $IDLE in ''|*[!0-9.]*) [ -z "$IDLE" ] || die "--idle must be seconds, got $IDLE" ;; esac
  [ "$PURGE" = 0 ] || [ "$UNINSTALL" = 1 ] || die "--purge goes with --uninstall"
  PREFIX=$(mkdir -p "$PREFIX" && cd "$PREFIX" && pwd)
  LIB=$PREFIX/lib/faass
  BIN=$PREFIX/bin
  MAN=$PREFIX/share/man
  COMPLETIONS=$PREFIX/share/bash-completion/completions
  CONFIG_HOME=${XDG_CONFIG_HOME:-$HOME/.config}
  DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
  STATE_HOME=${XDG_STATE_HOME:-$HOME/.local/state}
  RUNTIME=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}/faass
  UNIT_DIR=$CONFIG_HOME/systemd/user
}

has_node() { command -v node >/dev/null 2>&1 && node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; }
has_user_manager() { command -v systemctl >/dev/null 2>&1 && systemctl --user show --property=Version 2>/dev/null | grep -q '^Version='; }

# faassctl, less the line each call prints while no user manager is reachable (said once here).
ctl() {
  if [ "$MANAGER" = 1 ]; then "$BIN/faassctl" "$@"; return; fi
  local rc=0
  { "$BIN/faassctl" "$@" 2>&1 1>&3 3>&- | { grep -v "^faassctl: $UNREACHABLE" || true; } >&2; } 3>&1 || rc=$?
  return "$rc"
}

# --- System packages -------------------------------------------------------------------

# node-gyp builds the native addons against Node's headers and, unless told where they are,
# downloads them from nodejs.org: that fails offline and is needless where they came with Node
# (NodeSource's nodejs, Debian's libnode-dev and the official tarballs put them in
# PREFIX/include/node). The headers must be the running node's own, or the addons break.
headers_dir() { printf '%s\n' "${npm_config_nodedir:-$(node -p 'require("path").resolve(process.execPath, "../..")')}"; }
headers_version() {
  local h=$1/include/node/node_version.h
  [ ! -f "$h" ] || awk '/^#define NODE_(MAJOR|MINOR|PATCH)_VERSION [0-9]+$/ { v = v (v == "" ? "" : ".") $3 } END { print v }' "$h"
}
has_headers() { [ -f "$1/include/node/node.h" ] && [ "$(headers_version "$1")" = "$(node -p process.versions.node)" ]; }

# Debian's nodejs keeps its headers in libnode-dev; other Node packages ship them or nothing.
headers_package() {
  local owner
  owner=$(dpkg-query -S "$(node -p process.execPath)" 2>/dev/null | cut -d: -f1) || return 1
  [ "$owner" = nodejs ] && ! dpkg-query -W -f='${Version}' nodejs 2>/dev/null | grep -q nodesource && echo libnode-dev
}

# Whether node_modules holds what package-lock.json names (npm's own record of what it put
# there, node_modules/.package-lock.json; optional packages for other platforms are skipped).
deps_match_lock() {
  node -e '
    const fs = require("fs");
    const want = JSON.parse(fs.readFileSync("package-lock.json")).packages;
    const have = JSON.parse(fs.readFileSync("node_modules/.package-lock.json")).packages;
    const differs = (k) => k !== "" && !(want[k].optional && !have[k]) && (have[k] || {}).version !== want[k].version;
    process.exit(Object.keys(want).some(differs) || Object.keys(have).some((k) => !want[k]) ? 1 : 0);
  ' 2>/dev/null
}
addons_load() { node -e 'for (const m of process.argv.slice(1)) require(m)' "${NATIVE_ADDONS[@]}" 2>/dev/null; }

# What npm has to do: nothing, rebuild the addons (node_modules came without them, or for
# another Node), or ci (fetch the packages). Asked once, after Node is there.
DEPS_WORK=""
deps_work() {
  [ -n "$DEPS_WORK" ] || DEPS_WORK=$(cd "$SRC" && if ! has_node || ! deps_match_lock; then echo ci; elif ! addons_load; then echo rebuild; else echo none; fi)
  printf '%s\n' "$DEPS_WORK"
}

node_packages() {
  if ! has_node; then
    local offered
    offered=$(apt-cache policy nodejs 2>/dev/null | sed -n 's/^ *Candidate: \([0-9]*:\)\{0,1\}//p')
    [ "${offered%%.*}" -ge 20 ] 2>/dev/null || die "Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none); apt offers: ${offered:-none}): install Node.js 20 (Debian 13's nodejs, or NodeSource's) and run ./install.sh again"
    echo nodejs
  fi
  # NodeSource's nodejs brings npm and conflicts with Debian's npm package.
  command -v npm >/dev/null 2>&1 || echo npm
}

build_packages() {
  [ "$(deps_work)" != none ] || return 0
  local tool
  for tool in python3 make g++ pkg-config; do command -v "$tool" >/dev/null 2>&1 || echo "$tool"; done
  [ -f /usr/include/systemd/sd-daemon.h ] || pkg-config --exists libsystemd 2>/dev/null || echo libsystemd-dev
  has_headers "$(headers_dir)" || headers_package || true
}

# apt-get install, as root or through sudo; else name the packages and stop.
install_packages() {
  [ $# -gt 0 ] || return 0
  local as=()
  command -v apt-get >/dev/null 2>&1 || die "missing system packages: $*; install them with your system's package manager and run ./install.sh again"
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing system packages: $*; install them as root (apt-get install $*) and run ./install.sh again"
    as=(sudo)
  fi
  say "installing system packages: $*${as:+ (through sudo)}"
  "${as[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null \
    || { "${as[@]}" apt-get update -q >/dev/null && "${as[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; } \
    || die "apt-get install $* failed; install them and run ./install.sh again"
}

# bubblewrap gives the code a user deploys a PID namespace of its own (faass-runner(8)). faass
# runs without it, but functions then see the user's other processes: installed where that
# needs no password, else said once.
ensure_bwrap() {
  command -v bwrap >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; then install_packages bubblewrap; return 0; fi
  say "warning: bubblewrap (bwrap) is missing, so functions will see your other processes; install it (apt-get install bubblewrap) and run ./install.sh again"
}

# /var/openfaas/secrets: where handlers written for OpenFaaS read their secrets. A function's unit
# binds its own credentials there (src/systemd/units.ts functionCredentials), which needs the
# empty directory on the host, and a user manager cannot make one under /var. Made where that
# needs no password, else said once: functions then find secrets in $CREDENTIALS_DIRECTORY only.
# Left by --uninstall: it is empty, and other users' faass may bind it too.
ensure_openfaas_secrets() {
  [ -d /var/openfaas/secrets ] && return 0
  if [ "$(id -u)" = 0 ]; then mkdir -p /var/openfaas/secrets; return 0; fi
  if sudo -n true 2>/dev/null; then sudo mkdir -p /var/openfaas/secrets; return 0; fi
  say "note: /var/openfaas/secrets is missing, so functions find their secrets in \$CREDENTIALS_DIRECTORY only; make it (sudo mkdir -p /var/openfaas/secrets) and run ./install.sh again"
}

ensure_system() {
  local pkgs
  pkgs=$(node_packages)
  # shellcheck disable=SC2086 # package names, a word each
  install_packages $pkgs
  deps_work >/dev/null
  pkgs=$(build_packages)
  # shellcheck disable=SC2086
  install_packages $pkgs
  pkgs=$(forwarder_packages)
  # shellcheck disable=SC2086
  install_packages $pkgs
  ensure_bwrap
  ensure_openfaas_secrets
}

# faass-forward, the way into a container service's own network (src/app/forward.c), is built
# static by npm run build: it needs a C compiler and libc6-dev's libc.a, only when it is not
# built yet (a dist/ that came along has it).
forwarder_packages() {
  [ ! -x "$SRC/dist/app/faass-forward" ] || return 0
  command -v cc >/dev/null 2>&1 || echo gcc
  compgen -G '/usr/lib/*/libc.a' >/dev/null || [ -f /usr/lib/libc.a ] || echo libc6-dev
}

# --- The package -----------------------------------------------------------------------

# Runs npm, its output in a file; a failure is one line saying why.
npm_quiet() {
  local out code line
  out=$(mktemp "${TMPDIR:-/tmp}/faass-npm.XXXXXX")
  if npm "$@" --no-audit --no-fund >"$out" 2>&1; then rm -f "$out"; return 0; fi
  code=$(sed -n 's/^npm error code //p' "$out" | head -n 1)
  case $code in
    ENOTCACHED) die "npm $1 could not get the packages: npm is offline and its cache ($(npm config get cache)) does not hold them; run ./install.sh once with the registry reachable, or bring node_modules along (npm output: $out)" ;;
    ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH) die "npm $1 could not reach the registry $(npm config get registry) ($code; npm output: $out)" ;;
  esac
  line=$(grep -m 1 -E 'gyp ERR! stack Error|npm error [^c]' "$out" | sed 's/^npm error //') || true
  die "npm $1 failed: ${line:-see $out} (npm output: $out)"
}

no_headers() {
  local found how
  found=$(headers_version "$1")
  how=$(headers_package || true)
  die "Node.js $(node --version) headers not found in $1/include/node${found:+ (it holds v$found)}${npm_config_nodedir:+ (from npm_config_nodedir)}: node-gyp needs them to build ${NATIVE_ADDONS[*]} and would try to download them; ${how:+install $how, or }set npm_config_nodedir to the directory holding include/node of $(node --version)"
}

build_deps() {
  local work dir
  work=$(deps_work)
  [ "$work" != none ] || return 0
  dir=$(headers_dir)
  has_headers "$dir" || no_headers "$dir"
  export npm_config_nodedir=$dir npm_config_update_notifier=false
  if [ "$work" = ci ]; then
    say "installing dependencies (npm ci)"
    npm_quiet ci
  else
    say "building ${NATIVE_ADDONS[*]} for Node $(node --version)"
    npm_quiet rebuild "${NATIVE_ADDONS[@]}"
  fi
}

runtime_deps() {
  node -e '
    const fs = require("fs");
    const all = JSON.parse(fs.readFileSync("package-lock.json")).packages;
    for (const dir of Object.keys(all)) if (dir && !all[dir].dev && fs.existsSync(dir)) console.log(dir);
  '
}

install_package() {
  cd "$SRC"
  build_deps
  # dist/.built: the Node version of the last whole build (scripts/post-build.js); another Node
  # would reject the programs' code cache.
  if [ ! -f dist/.built ] || [ ! -x dist/app/faass-forward ] || [ "$(cat dist/.built)" != "$(node --version)" ] \
    || [ -n "$(find src scripts package.json tsconfig.json -newer dist/.built -print -quit)" ]; then
    say "building"
    npm_config_update_notifier=false npm run build >/dev/null || die "npm run build failed"
  fi
  # Production files only: dist/, package.json and the runtime dependencies' folders (what
  # npm ls --omit=dev lists, read from the lock: npm takes seconds for it).
  local stage
  stage=$(mktemp -d "${PREFIX}/lib/.faass.XXXXXX" 2>/dev/null || { mkdir -p "$PREFIX/lib"; mktemp -d "${PREFIX}/lib/.faass.XXXXXX"; })
  cp -a dist package.json "$stage/"
  rm -f "$stage/dist/.built"
  local dir
  runtime_deps | while IFS= read -r dir; do
    mkdir -p "$stage/$dir"
    cp -a "$dir/." "$stage/$dir/"
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

man_pages() { local page; for page in "$SRC"/man/man*/*.[0-9]; do printf '%s\n' "man${page##*.}/$(basename "$page")"; done; }

install_man() {
  local page
  for page in $(man_pages); do
    mkdir -p "$MAN/$(dirname "$page")"
    cmp -s "$SRC/man/$page" "$MAN/$page" || cp "$SRC/man/$page" "$MAN/$page"
  done
}

# bash-completion loads PREFIX/share/bash-completion/completions/faassctl for a PREFIX/bin on
# PATH (and ~/.local/share/bash-completion for the default prefix).
install_completion() {
  local script
  script=$(SHELL=/bin/bash "$BIN/faassctl" completion) || die "faassctl completion failed"
  mkdir -p "$COMPLETIONS"
  [ "$(cat "$COMPLETIONS/faassctl" 2>/dev/null)" = "$script" ] || printf '%s\n' "$script" >"$COMPLETIONS/faassctl"
}

install_units() {
  local args=()
  [ -z "$PORT" ] || args+=(--port "$PORT")
  [ -z "$CONSOLE_PORT" ] || args+=(--console-port "$CONSOLE_PORT")
  [ -z "$IDLE" ] || args+=(--idle "$IDLE")
  local before after
  before=$(cat "$UNIT_DIR/faass-gateway.socket" 2>/dev/null || true)
  ctl init "${args[@]}"
  ctl generate-units
  after=$(cat "$UNIT_DIR/faass-gateway.socket")
  [ "$MANAGER" = 1 ] || return 0
  systemctl --user enable --now faass-gateway.socket >/dev/null 2>&1 || die "could not enable faass-gateway.socket (systemctl --user status faass-gateway.socket)"
  # A changed address takes effect only when the socket is bound again.
  [ "$before" = "$after" ] || [ -z "$before" ] || systemctl --user restart faass-gateway.socket
  # The console's socket (console_listen), listening from now on like the gateway's.
  [ ! -f "$UNIT_DIR/faass-gateway-console.socket" ] || systemctl --user enable --now faass-gateway-console.socket >/dev/null 2>&1 \
    || die "could not enable faass-gateway-console.socket (systemctl --user status faass-gateway-console.socket)"
}

install_example() {
  ctl describe hello >/dev/null 2>&1 || ctl deploy hello --runtime node --from-file "$SRC/examples/hello/handler.js"
}

listen_address() { sed -n 's/^listen=//p' "$CONFIG_HOME/faass/faass.conf"; }
console_address() { sed -n 's/^console_listen=//p' "$CONFIG_HOME/faass/faass.conf"; }

# Where the web console is, if it is on (console_listen), and how to sign in; or how to turn it on.
say_console() {
  local at scheme=http
  at=$(console_address)
  grep -q '^tls_cert=' "$CONFIG_HOME/faass/faass.conf" && scheme=https
  case $at in
    '') say "no web console (it is opt-in): ./install.sh --console-port PORT serves it on an address of its own" ;;
    /*) say "the web console listens on $at (a unix socket); sign in with an admin token (faassctl credentials add NAME --admin)" ;;
    *) say "the web console: $scheme://$at/ui/ (its own address, not the functions'); sign in with an admin token (faassctl credentials add NAME --admin)" ;;
  esac
}

# With a user manager the gateway must answer: a real call of hello through it, as a user's.
check_answers() {
  local out
  out=$(env -u FAASS_GATEWAY timeout 120 "$BIN/faassctl" invoke hello -d you 2>&1) \
    || die "installed, but the gateway at $(listen_address) does not answer: ${out:-no answer in 120 s}; see systemctl --user status faass-gateway.socket faass-gateway.service"
  say "done: the gateway at $(listen_address) answers (faassctl invoke hello -d you: $out)"
  grep -q '^tls_cert=' "$CONFIG_HOME/faass/faass.conf" || case $(listen_address) in
    /*) say "try  curl --unix-socket $(listen_address) -d you http://localhost/function/hello" ;;
    *) say "try  curl -d you http://$(listen_address)/function/hello" ;;
  esac
  say_console
}

# No user manager: nothing runs, and nothing this script could start would; say what will.
explain_serve() {
  say "$UNREACHABLE (systemctl --user): installed, but nothing was started."
  say "run faass in the foreground with:  faassctl serve   (it listens on $(listen_address))"
  say_console
  # Lingering starts a user manager only where systemd runs the machine.
  if [ -d /run/systemd/system ] && command -v loginctl >/dev/null 2>&1; then
    say "or, for socket activation: loginctl enable-linger $(id -un) starts your user manager; then run ./install.sh again in a session that has XDG_RUNTIME_DIR"
  fi
}

# --- Uninstall -------------------------------------------------------------------------

# Sockets and state of a faassctl serve that is gone; one that still accepts is left alone.
remove_runtime() {
  [ -d "$RUNTIME" ] || return 0
  local live
  live=$(node -e '
    const fs = require("fs"), net = require("net"), path = require("path");
    const socks = [];
    const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else if (e.isSocket()) socks.push(p); } };
    walk(process.argv[1]);
    const probe = (s) => new Promise((r) => { const c = net.connect(s); c.on("connect", () => { c.destroy(); r(s); }); c.on("error", () => r(null)); });
    Promise.all(socks.map(probe)).then((l) => console.log(l.filter(Boolean).join(" ")));
  ' "$RUNTIME" 2>/dev/null) || live=""
  if [ -n "$live" ]; then say "left $RUNTIME: something still listens there ($live); stop faassctl serve and run the uninstall again"; return 0; fi
  rm -rf "$RUNTIME"
}

# Directories install.sh or faassctl made, deepest first, where nothing else is in them.
prune_dirs() {
  local d
  for d in "$@"; do
    case $d in "$HOME"|/|'') continue ;; esac
    [ ! -d "$d" ] || rmdir --ignore-fail-on-non-empty "$d" 2>/dev/null || true
  done
}

uninstall() {
  local fn f page
  if [ -x "$BIN/faassctl" ] && [ "$PURGE" = 1 ]; then
    for fn in $(ctl list | cut -f1); do ctl delete "$fn" || true; done
  fi
  if [ "$MANAGER" = 1 ]; then
    for f in faass-gateway.socket faass-gateway-https.socket faass-gateway-console.socket faass-api.socket; do systemctl --user disable --now "$f" >/dev/null 2>&1 || true; done
    systemctl --user stop 'faass-*' >/dev/null 2>&1 || true
  else
    say "$UNREACHABLE (systemctl --user): no unit to stop"
  fi
  for f in "$UNIT_DIR"/faass-*; do
    [ -f "$f" ] && head -n1 "$f" | grep -q '^# Generated by faassctl' && rm -f "$f"
  done
  [ "$MANAGER" = 0 ] || systemctl --user daemon-reload
  rm -f "$BIN/faassctl" "$BIN/faass-gateway" "$BIN/faass-runner" "$COMPLETIONS/faassctl"
  for page in $(man_pages); do rm -f "$MAN/$page"; done
  rm -rf "$LIB" "$PREFIX"/lib/.faass.*
  [ "$PURGE" = 0 ] || rm -rf "$CONFIG_HOME/faass" "$DATA_HOME/faass" "$STATE_HOME/faass"
  remove_runtime
  prune_dirs "$MAN"/man[0-9] "$MAN" "$COMPLETIONS" "$(dirname "$COMPLETIONS")" "$PREFIX/share" "$PREFIX/lib" "$BIN" "$PREFIX" \
    "$UNIT_DIR" "$(dirname "$UNIT_DIR")" "$CONFIG_HOME" "$DATA_HOME" "$STATE_HOME" "$HOME/.local"
  say "uninstalled from $PREFIX$([ "$PURGE" = 1 ] && echo ', functions purged' || echo '; functions kept (--purge removes them)')"
}

main() {
  parse_args "$@"
  ! has_user_manager || MANAGER=1
  if [ "$UNINSTALL" = 1 ]; then uninstall; return; fi
  ensure_system
  install_package
  install_bins
  install_man
  install_completion
  install_units
  install_example
  if [ "$MANAGER" = 1 ]; then check_answers; else explain_serve; fi
}

main "$@"
