#!/bin/sh
# ExecStop= of a unit whose program runs in a PID namespace of its own (bubblewrap; see units.ts
# pidNamespace). systemd would send SIGTERM to the unit's main process, which is bwrap: it dies
# of it and its namespace with it, so a runner would lose its running calls. Instead this sends
# SIGTERM to the program itself and waits until it has exited, as systemd waits for a runner
# that is not wrapped. systemd bounds the wait (TimeoutStopSec=) and kills what is left after it.
# The program is the one process in the namespace with pid 2: bwrap's init (pid 1, the main
# process's child) starts it first.
main=${MAINPID:-}
[ -n "$main" ] || exit 0 # the program exited on its own (idle), and with it the namespace
prog=$(awk -v main="$main" '
  FNR == 1 { pid = ""; nspid = "" }
  $1 == "Pid:" { pid = $2 }
  $1 == "PPid:" { ppid[pid] = $2 }
  $1 == "NSpid:" { inner[pid] = $NF }
  END {
    for (p in ppid) if (ppid[p] == main) init = p
    if (init != "") for (p in ppid) if (ppid[p] == init && inner[p] == 2) print p
  }' /proc/[0-9]*/status 2>/dev/null)
[ -n "$prog" ] || exit 0
kill -TERM "$prog" 2>/dev/null || exit 0
while kill -0 "$prog" 2>/dev/null; do sleep 0.01; done
