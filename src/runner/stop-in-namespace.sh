#!/bin/sh
# ExecStop= of a unit whose program runs in a PID namespace of its own (bubblewrap; see units.ts
# pidNamespace). systemd would send SIGTERM to the unit's main process, which is bwrap: it dies
# of it and its namespace with it, so a runner would lose its running calls. Instead this sends
# SIGTERM to the program itself and waits until it has exited, as systemd waits for a runner
# that is not wrapped. systemd bounds the wait (TimeoutStopSec=) and kills what is left after it.
# The program is the one process in the namespace with pid 2: bwrap's init (pid 1, the main
# process's child) starts it first.
# FAASS_PROC: another /proc, for the unit test only.
proc=${FAASS_PROC:-/proc}
main=${MAINPID:-}
[ -n "$main" ] || exit 0 # the program exited on its own (idle), and with it the namespace
# The status files go through cat, not as awk's own arguments: processes come and go while this
# reads, and Debian's awk (mawk) gives up at the first file that vanished since the glob, which
# ended the stop early and let systemd end bwrap, calls and all (seen under load at a redeploy).
# cat skips such a file and goes on. Each file starts with its Name: line.
prog=$(cat "$proc"/[0-9]*/status 2>/dev/null | awk -v main="$main" '
  $1 == "Name:" { pid = "" }
  $1 == "Pid:" { pid = $2 }
  $1 == "PPid:" && pid != "" { ppid[pid] = $2 }
  $1 == "NSpid:" && pid != "" { inner[pid] = $NF }
  END {
    for (p in ppid) if (ppid[p] == main) init = p
    if (init != "") for (p in ppid) if (ppid[p] == init && inner[p] == 2) print p
  }')
[ -n "$prog" ] || exit 0
kill -TERM "$prog" 2>/dev/null || exit 0
while kill -0 "$prog" 2>/dev/null; do sleep 0.01; done
