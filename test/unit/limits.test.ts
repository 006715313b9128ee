// Which limits a host enforces: the user manager's controllers read from fake cgroup trees, as
// systemd 252 decides them, and the lines faass says about a function's limits.
import t from 'tap';
import { CgroupFiles, managerControllers } from '../../src/systemd/controllers';
import { unenforcedLimits, unenforcedDefaults } from '../../src/functions/limits';
import { parseFunctionConfig } from '../../src/functions/function-config';

const MANAGER = '/user.slice/user-1000.slice/user@1000.service';
// A tree: readable files with their text, and the cgroup.procs the manager may write.
const tree = (files: Record<string, string>, writable: string[] = []): CgroupFiles => ({
  read: (p) => files[p] ?? null,
  writable: (p) => writable.includes(p),
});
const sorted = (s: Set<string>) => [...s].sort();

t.test('cgroup v2: the controllers delegated to the manager (its cgroup.controllers)', async (t) => {
  const delegated = tree({ '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n', [`/sys/fs/cgroup${MANAGER}/cgroup.controllers`]: 'cpu memory pids\n' });
  t.same(sorted(managerControllers(MANAGER, delegated)), ['cpu', 'memory', 'pids']);
  const bare = tree({ '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory pids\n', [`/sys/fs/cgroup${MANAGER}/cgroup.controllers`]: 'pids\n' });
  t.same(sorted(managerControllers(MANAGER, bare)), ['pids'], 'a default Debian 12 user@.service gets memory and pids; one without memory says so');
  t.same(sorted(managerControllers(MANAGER, tree({ '/sys/fs/cgroup/cgroup.controllers': 'memory pids\n' }))), [], "an unreadable manager cgroup: nothing is assumed enforced");
});

t.test('cgroup v1 or hybrid: a v1 hierarchy holding the manager with a cgroup.procs it may write', async (t) => {
  // As on this project's test machines: the pids hierarchy has the manager's cgroup, memory has
  // it elsewhere (a container's), so systemd cannot place units there.
  const hybrid = tree({ '/sys/fs/cgroup/unified/cgroup.controllers': '' }, [`/sys/fs/cgroup/pids${MANAGER}/cgroup.procs`, `/sys/fs/cgroup/cpu${MANAGER}/cgroup.procs`]);
  t.same(sorted(managerControllers(MANAGER, hybrid)), ['cpu', 'pids']);
  t.same(sorted(managerControllers(MANAGER, tree({}))), [], 'no delegation at all');
});

t.test('a line for each limit set that is not enforced, naming it and why', async (t) => {
  const cfg = parseFunctionConfig('hog', '[function]\nruntime = exec\ncommand = cat\nmemory_max = 64M\ntasks_max = 50\ncpu_quota = 50\n');
  const lines = unenforcedLimits(cfg, new Set(['pids']));
  t.equal(lines.length, 2);
  t.equal(lines[0], 'memory_max=67108864 of hog is not enforced on this host: the systemd user manager has no memory controller (cgroup v1 or hybrid, or memory not delegated to user@.service)');
  t.match(lines[1], /^cpu_quota=50 of hog is not enforced on this host: .* no cpu controller/);
  t.same(unenforcedLimits(cfg, new Set(['pids', 'memory', 'cpu'])), [], 'all enforced: nothing to say');
  t.same(unenforcedLimits(cfg, null), [], 'no manager answers: nothing to say');
  const plain = parseFunctionConfig('plain', '[function]\nruntime = exec\ncommand = cat\n');
  t.same(unenforcedLimits(plain, new Set()), [], 'no limit set: none to warn about');
  const boxed = parseFunctionConfig('boxed', '[function]\nruntime = docker\nimage = busybox:latest\ncommand = cat\nmemory_max = 64M\n');
  t.same(unenforcedLimits(boxed, new Set()), [], "docker: the engine enforces them on the container, in its own cgroups");
  t.same(unenforcedDefaults(new Set()), ['the default tasks_max=512 is not enforced on this host: the systemd user manager has no pids controller']);
  t.same(unenforcedDefaults(new Set(['pids'])), []);
});
