// Which cgroup controllers the user manager can give its units, so that faass can say when a
// limit (MemoryMax=, TasksMax=, CPUQuota=) is written into a unit but not enforced. systemd
// accepts every such setting and applies what it can, silently. The rules are systemd's own
// (cg_mask_supported_subtree, 252): on cgroup v2 the controllers listed in the cgroup.controllers
// of the manager's control group (what user@.service was delegated); on cgroup v1 or hybrid, a
// v1 controller whose hierarchy holds the manager's control group with a cgroup.procs it may
// write. Seen here (v1 hybrid, the test harness): pids yes, memory no.
import * as fs from 'node:fs';
import { run } from './systemctl';

export const CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
export type Controller = (typeof CONTROLLERS)[number];

// What the check reads, made replaceable for tests.
export interface CgroupFiles {
  read(p: string): string | null;
  writable(p: string): boolean; // as access(W_OK) would say on a writable mount
}

// Not access(): a unit with ProtectControlGroups=yes (the API's) sees /sys/fs/cgroup read-only,
// where W_OK always fails. Ownership and mode say what the manager itself may do.
const hostFiles: CgroupFiles = {
  read: (p) => {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch {
      return null;
    }
  },
  writable: (p) => {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st) return false;
    const uid = process.getuid?.() ?? -1;
    return uid === 0 || (st.uid === uid && (st.mode & 0o200) !== 0) || (st.mode & 0o002) !== 0;
  },
};

// manager: the manager's control group (systemctl --user show -p ControlGroup), e.g.
// /user.slice/user-1000.slice/user@1000.service.
export function managerControllers(manager: string, files: CgroupFiles = hostFiles): Set<Controller> {
  const unified = files.read('/sys/fs/cgroup/cgroup.controllers');
  if (unified !== null) {
    const listed = (files.read(`/sys/fs/cgroup${manager}/cgroup.controllers`) ?? '').split(/\s+/);
    return new Set(CONTROLLERS.filter((c) => listed.includes(c)));
  }
  return new Set(CONTROLLERS.filter((c) => files.writable(`/sys/fs/cgroup/${c}${manager}/cgroup.procs`)));
}

// The controllers of the reachable user manager; null when none answers (nothing to say then).
export async function userManagerControllers(): Promise<Set<Controller> | null> {
  const r = await run('systemctl', ['--user', 'show', '--property=ControlGroup', '--value'], { timeoutMs: 10000 });
  const manager = r.stdout.trim();
  if (r.code !== 0 || !manager.startsWith('/')) return null;
  return managerControllers(manager);
}
