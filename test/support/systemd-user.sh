#!/usr/bin/env bash
# A real systemd user manager with its own journald, confined to cgroups of its own, for tests.
# Usage: systemd-user.sh start DIR [USER]   (prints the environment to use, as KEY=VALUE lines)
#        systemd-user.sh stop DIR
# With USER (an ordinary account, created when missing), the manager and everything it starts
# run as that user, as they do on a real machine: systemd grants a user manager that is not
# root none of the privileges sandboxing options need without a user namespace (seen: units
# that start as root fail with 218/CAPABILITIES or 226/NAMESPACE as anyone else).
# Each step answers a fact of these machines (a user manager where systemd is not PID 1, its own
# cgroups, journald, private XDG dirs): see the comments at each step and README.md "Test".
set -euo pipefail

cmd=${1:?usage: systemd-user.sh start|stop DIR [USER]}
dir=${2:?usage: systemd-user.sh start|stop DIR [USER]}
user=${3:-}

# An ordinary account for the tests: no login, no home of its own (each run has one), in
# systemd-journal so that journalctl shows it the sandbox's journal (kept in /run, which
# journald does not split per user).
ensure_user() {
  id -u "$1" >/dev/null 2>&1 && return 0
  useradd --system --no-create-home --shell /usr/sbin/nologin --groups systemd-journal "$1" 2>/dev/null || id -u "$1" >/dev/null
}

own_cgroup() { # own_cgroup HIERARCHY -> this process's path in it
  local h=$1 line
  while IFS= read -r line; do
    local ctrls=${line#*:}; ctrls=${ctrls%%:*}
    local path=${line#*:*:}
    if [ "$h" = unified ] && [ -z "$ctrls" ]; then echo "$path"; return; fi
    if [ "$h" = systemd ] && [ "$ctrls" = name=systemd ]; then echo "$path"; return; fi
    case ",$ctrls," in *",$h,"*) echo "$path"; return ;; esac
  done < /proc/self/cgroup
  echo /
}

start() {
  mkdir -p "$dir/runtime" "$dir/config" "$dir/data" "$dir/state" "$dir/home"
  chmod 700 "$dir/runtime"
  local uid name as=()
  uid=$(id -u)
  if [ -n "$user" ]; then
    ensure_user "$user"
    uid=$(id -u "$user")
    chmod 755 "$dir"
    chown -R "$user:" "$dir/runtime" "$dir/config" "$dir/data" "$dir/state" "$dir/home"
    as=(setpriv --reuid="$uid" --regid="$(id -g "$user")" --init-groups)
  fi
  # The sandbox's own journal: DIR/journal, bound at /run/log/journal in its mount namespace, where
  # its journald writes and everything run in the sandbox reads (sandbox.ts runs commands there).
  # One journald per directory, as on a booted system: journalds of sandboxes running side by side
  # once shared the host's, renamed each other's files as unclean, and the one directory grew to
  # 100 files (800 MB) that every journalctl of every test read. Readable by systemd-journal, as
  # systemd-tmpfiles leaves /run/log/journal on a booted system.
  mkdir -p "$dir/journal" /run/log/journal
  chgrp systemd-journal "$dir/journal"
  chmod 2755 "$dir/journal"
  name="faass-test-$$.slice/user.slice/user-$uid.slice/user@$uid.service"
  : > "$dir/cgroups"
  local h base
  for h in /sys/fs/cgroup/*/; do
    h=$(basename "$h")
    [ -f "/sys/fs/cgroup/$h/cgroup.procs" ] || continue
    base=/sys/fs/cgroup/$h$(own_cgroup "$h")
    base=${base%/}
    local p=$base part
    IFS=/ read -ra parts <<< "$name"
    for part in "${parts[@]}"; do
      local parent=$p
      p=$p/$part
      mkdir -p "$p"
      if [ "$h" = cpuset ]; then
        cat "$parent/cpuset.cpus" > "$p/cpuset.cpus"
        cat "$parent/cpuset.mems" > "$p/cpuset.mems"
      fi
    done
    # The manager creates its units' cgroups below its own: delegated to it, as logind does.
    [ -z "$user" ] || chown -R "$user:" "$p"
    echo "$p" >> "$dir/cgroups"
  done
  export XDG_RUNTIME_DIR=$dir/runtime XDG_CONFIG_HOME=$dir/config XDG_DATA_HOME=$dir/data XDG_STATE_HOME=$dir/state
  (
    while IFS= read -r p; do echo "$BASHPID" > "$p/cgroup.procs"; done < "$dir/cgroups"
    # shellcheck disable=SC2016 # the inner script expands its own variables
    # A clean environment, as a login's manager has: the test runner's NODE_OPTIONS and the
    # like must not leak into every unit. FAASS_SPAWN does (faass-runner(8)): a run of the tests
    # with FAASS_SPAWN=node tries the runners' fallback.
    exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$dir/home" LANG=C.UTF-8 \
      XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" XDG_CONFIG_HOME="$XDG_CONFIG_HOME" XDG_DATA_HOME="$XDG_DATA_HOME" XDG_STATE_HOME="$XDG_STATE_HOME" FAASS_SANDBOX_JOURNAL="$dir/journal" \
      ${FAASS_SPAWN:+"FAASS_SPAWN=$FAASS_SPAWN"} \
      unshare -m --propagation private sh -c '
      # Shared within this namespace, as PID 1 makes / on a booted system: what the manager mounts
      # in a child namespace of its own (root'"'"'s manager puts a unit'"'"'s credentials on a ramfs so)
      # shows in its own. Private to the host all the same: unshare cut the peer groups first.
      mount --make-rshared /
      mount -t tmpfs tmpfs /run/systemd && mkdir -p /run/systemd/system
      mount --bind "$FAASS_SANDBOX_JOURNAL" /run/log/journal && unset FAASS_SANDBOX_JOURNAL
      # What PID 1 makes on a booted system: the nodes root'"'"'s manager mounts over InaccessiblePaths=
      # (an ordinary user'"'"'s manager makes its own under $XDG_RUNTIME_DIR/systemd).
      ina=/run/systemd/inaccessible; mkdir -p $ina/dir && touch $ina/reg && mkfifo $ina/fifo && mknod $ina/chr c 0 0 && mknod $ina/blk b 0 0
      python3 -c "import socket; socket.socket(socket.AF_UNIX).bind(\"$ina/sock\")" && chmod 0000 $ina/*
      /usr/lib/systemd/systemd-journald &
      i=0; while [ ! -S /run/systemd/journal/stdout ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
      exec "$@" /usr/lib/systemd/systemd --user' sh "${as[@]}" > "$dir/manager.log" 2>&1 < /dev/null
  ) &
  echo $! > "$dir/manager.pid"
  local i=0
  until "${as[@]}" systemctl --user show --property=Version 2>/dev/null | grep -q '^Version='; do
    i=$((i + 1))
    if [ $i -gt 200 ]; then echo "systemd --user did not come up; see $dir/manager.log" >&2; cat "$dir/manager.log" >&2; exit 1; fi
    sleep 0.05
  done
  env | grep -E '^XDG_(RUNTIME_DIR|CONFIG_HOME|DATA_HOME|STATE_HOME)='
}

stop() {
  [ -f "$dir/cgroups" ] || return 0
  if [ -S "$dir/runtime/systemd/private" ]; then
    local owner as=()
    owner=$(stat -c %u "$dir/runtime")
    [ "$owner" = 0 ] || as=(setpriv --reuid="$owner" --regid="$(stat -c %g "$dir/runtime")" --init-groups)
    XDG_RUNTIME_DIR=$dir/runtime timeout 20 "${as[@]}" systemctl --user stop 'faass-*' >/dev/null 2>&1 || true
  fi
  local sd p pid tries=0
  sd=$(grep '/sys/fs/cgroup/systemd/' "$dir/cgroups" | head -n1)
  # journald first, politely, so that it closes its files cleanly (SIGKILL would leave them
  # "uncleanly shut down" for the next one to rotate away).
  find "$sd" -name cgroup.procs -exec cat {} + 2>/dev/null | while IFS= read -r pid; do
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd-journal ]; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  sleep 0.2
  # End every process of the sandbox (manager and journald included), by PID, until none is left.
  while :; do
    local pids
    pids=$(find "$sd" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
    [ -n "$pids" ] || break
    for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
    tries=$((tries + 1))
    [ $tries -lt 100 ] || { echo "processes left in $sd: $pids" >&2; break; }
    sleep 0.05
  done
  while IFS= read -r p; do
    find "$p" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    # the per-test slice levels above user@UID.service
    local up=$p
    for _ in 1 2 3; do up=$(dirname "$up"); rmdir "$up" 2>/dev/null || true; done
  done < "$dir/cgroups"
  rm -f "$dir/cgroups"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) echo "usage: systemd-user.sh start|stop DIR" >&2; exit 2 ;;
esac
