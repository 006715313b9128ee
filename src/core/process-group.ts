// The one way faass ends what it started in a process group of its own (spawn with
// `detached: true`): a per-call exec function, a python worker, a service's app process.

// Sends a signal to the whole group (kill(2) with -pid); a group that is already gone is not an error.
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: every process of the group has exited
  }
}

// Ends the group: with a grace and the leader's `exited`, SIGTERM, then SIGKILL if the leader
// has not exited within graceSeconds; otherwise SIGKILL at once. Resolves once `exited` settles
// (at once without it: after SIGKILL the kernel does the rest).
export async function killGroup(pid: number | undefined, graceSeconds = 0, exited?: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  if (graceSeconds > 0 && exited) {
    signalGroup(pid, 'SIGTERM');
    timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceSeconds * 1000);
  } else signalGroup(pid, 'SIGKILL');
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
