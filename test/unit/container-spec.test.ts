// The one container spec: what a per-call container and a service's container get.
import t from 'tap';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { containerSpec, forwarderSpec, FORWARDER_PIDS } from '../../src/docker/container-spec';
import { serviceContainerName, forwarderContainerName } from '../../src/docker/names';

const MiB = 1024 * 1024;
const fn = (extra: Record<string, unknown> = {}) => buildFunctionConfig('up', { runtime: 'docker', image: 'busybox', command: 'tr a-z A-Z', ...extra });
const svc = (extra: Record<string, unknown> = {}) => buildFunctionConfig('web', { kind: 'service', port: '9001', runtime: 'docker', image: 'busybox', ...extra });
const call = { kind: 'call' as const, install: 'i-1', callId: 'c-1', env: { Http_Method: 'POST' } };
const service = { kind: 'service' as const, install: 'i-1' };

t.test('a service: the limits are its container\'s, 512M and no swap by default', async (t) => {
  t.equal(containerSpec(svc(), service).HostConfig?.Memory, 512 * MiB, '512M by default');
  t.equal(containerSpec(svc(), service).HostConfig?.MemorySwap, 512 * MiB, 'memory plus swap = memory, no swap');
  const h = containerSpec(svc({ memory_max: '64M', tasks_max: '10', cpu_quota: '50' }), service).HostConfig ?? {};
  t.equal(h.Memory, 64 * MiB, 'memory_max');
  t.equal(h.MemorySwap, 64 * MiB, 'and no swap beyond it');
  t.equal(h.PidsLimit, 10, 'tasks_max');
  t.equal(h.NanoCpus, 0.5e9, 'cpu_quota=50 is half a CPU');
  t.equal(containerSpec(svc(), service).HostConfig?.PidsLimit, 256, 'pids: 256 by default');
  t.equal(containerSpec(svc(), service).HostConfig?.NanoCpus, undefined, 'no CPU limit unless cpu_quota says');
});

// Issue 11 item 21: a function's limits bound the function as a whole; at most `workers` of its
// containers run at once, so each gets a share and the sum never exceeds the limit.
t.test("a call: its share of the function's limits, the sum never more", async (t) => {
  const h = containerSpec(fn({ memory_max: '64M', tasks_max: '16', cpu_quota: '40' }), call).HostConfig ?? {};
  t.equal(h.Memory, 16 * MiB, 'memory_max=64M among workers=4: 16M each');
  t.equal(h.MemorySwap, 16 * MiB, 'and no swap beyond it');
  t.equal(h.PidsLimit, 4, 'tasks_max=16: 4 each');
  t.equal(h.NanoCpus, 0.1e9, 'cpu_quota=40: 10% of a CPU each');
  const odd = containerSpec(fn({ memory_max: '100M', tasks_max: '50', cpu_quota: '100', workers: '3' }), call).HostConfig ?? {};
  t.ok((odd.Memory ?? 0) * 3 <= 100 * MiB && (odd.Memory ?? 0) % 4096 === 0, 'shares that do not divide evenly: whole pages, rounded down');
  t.ok((odd.PidsLimit ?? 0) * 3 <= 50 && (odd.NanoCpus ?? 0) * 3 <= 1e9, 'pids and CPU rounded down too');
  const d = containerSpec(fn(), call).HostConfig ?? {};
  t.equal(d.Memory, 512 * MiB, 'by default 2G in all: 512M each at the default workers=4');
  t.equal(d.PidsLimit, 256, 'and 1024 pids in all: 256 each');
  t.equal(d.NanoCpus, undefined, 'no CPU limit unless cpu_quota says');
  t.equal(containerSpec(fn({ workers: '8' }), call).HostConfig?.Memory, 256 * MiB, 'more workers, smaller shares of the default');
});

t.test('a share below what a container needs is refused at deploy, with why', async (t) => {
  t.throws(() => fn({ memory_max: '64M', workers: '8' }), { code: 'FAASS_E_CONFIG_INVALID', message: 'Function up: memory_max=64M shared by workers=8 containers leaves 8M each, below the 16M a container needs: raise memory_max or lower workers' });
  t.throws(() => fn({ workers: '256' }), { message: /memory_max=2048M \(the default\) shared by workers=256 containers leaves 8M each/ }, 'the default too');
  t.throws(() => fn({ tasks_max: '10', workers: '4' }), { message: /tasks_max=10 shared by workers=4 containers leaves 2 each, below the 4 a container needs/ });
  t.throws(() => fn({ cpu_quota: '3', workers: '4' }), { message: /cpu_quota=3 shared by workers=4 containers leaves 0.75% of a CPU each/ });
  t.doesNotThrow(() => fn({ memory_max: '64M', tasks_max: '16', cpu_quota: '4' }), 'exactly the least share is enough');
  t.doesNotThrow(() => svc({ memory_max: '16M', tasks_max: '4' }), 'a service is one container: nothing to share');
  t.doesNotThrow(() => buildFunctionConfig('x', { runtime: 'exec', command: 'cat', memory_max: '8M', workers: '64' }), 'other runtimes: the unit holds the limit');
});

t.test('labels: the function, the install, the call', async (t) => {
  const labels = containerSpec(fn(), call).Labels ?? {};
  t.same(labels, { 'faass.function': 'up', 'faass.install': 'i-1', 'faass.call': 'c-1' });
  const s = containerSpec(svc(), service).Labels ?? {};
  t.equal(s['faass.function'], 'web');
  t.equal(s['faass.install'], 'i-1', "a service's container: its install too");
  t.equal(s['faass.call'], undefined, 'and no call');
});

t.test('both kinds: the same sandbox', async (t) => {
  for (const [what, spec] of [
    ['a call', containerSpec(fn(), call)],
    ['a service', containerSpec(svc(), service)],
  ] as const) {
    const h = spec.HostConfig ?? {};
    t.same(h.CapDrop, ['ALL'], `${what}: no capabilities`);
    t.same(h.SecurityOpt, ['no-new-privileges'], `${what}: no-new-privileges`);
    t.same(h.Tmpfs, { '/tmp': 'rw,nosuid,nodev,size=64m' }, `${what}: a 64M tmpfs /tmp`);
  }
});

t.test('a call: no network, a read-only root, stdin attached, its call id and environment', async (t) => {
  const spec = containerSpec(fn({ env: { A: '1' } }), call);
  t.equal(spec.HostConfig?.NetworkMode, 'none');
  t.equal(spec.NetworkDisabled, true);
  t.equal(spec.HostConfig?.ReadonlyRootfs, true);
  t.ok(spec.OpenStdin && spec.StdinOnce && spec.AttachStdin, 'the body goes to its stdin, once');
  t.equal((spec.Labels ?? {})['faass.call'], 'c-1');
  t.same(spec.Cmd, ['tr', 'a-z', 'A-Z']);
  t.same(spec.Env, ['A=1', 'Http_Method=POST']);
  t.equal(containerSpec(fn({ network: 'bridge' }), call).HostConfig?.NetworkMode, 'bridge', 'the network the function asks for');
});

t.test('a service: an init, a read-only root with a bounded /tmp, named faass-svc-INSTALL-NAME', async (t) => {
  const spec = containerSpec(svc(), service);
  t.equal(spec.HostConfig?.Init, true);
  t.equal(spec.HostConfig?.ReadonlyRootfs, true, 'an app writes only to /tmp (issue 11 item 24: a writable layer grew to 734 MB)');
  t.same(spec.HostConfig?.Tmpfs, { '/tmp': 'rw,nosuid,nodev,size=64m' }, 'which is bounded: scratch_max, 64M by default');
  t.same(containerSpec(svc({ scratch_max: '8M' }), service).HostConfig?.Tmpfs, { '/tmp': 'rw,nosuid,nodev,size=8m' }, 'or as set');
  t.same(containerSpec(svc({ scratch_max: String(3 * 1024 * 1024 + 1) }), service).HostConfig?.Tmpfs, { '/tmp': `rw,nosuid,nodev,size=${3 * 1024 * 1024 + 1}` }, 'to the byte');
  t.equal(spec.name, 'faass-svc-i-1-web');
  t.equal(spec.HostConfig?.NetworkMode, 'none', 'a network of its own: loopback only');
});

// Issue 11 item 19: two installs on one engine with a service of the same name.
t.test("names: an install's services never take another install's names, nor each other's", async (t) => {
  const a = 'e3b0c44298fc1c14', b = '9f86d081884c7d65';
  t.not(serviceContainerName(a, 'web'), serviceContainerName(b, 'web'), 'another install, another name');
  t.not(forwarderContainerName(a, 'web'), serviceContainerName(a, 'web-fwd'), "a forwarder's name is no service's");
  for (const n of [serviceContainerName(a, 'web'), forwarderContainerName(a, 'a'.repeat(63))]) t.match(n, /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, `${n.slice(0, 40)}: within the engine's name rule`);
});

t.test("a service's forwarder: the app's network, its socket in the runtime directory, locked down", async (t) => {
  const at = { appId: 'abcdef012345', socketDir: '/run/user/1000/faass/svc/web', program: '/opt/faass/dist/app/faass-forward', user: '1000:1000' };
  const f = forwarderSpec(svc(), 'i-1', at);
  t.equal(f.name, 'faass-fwd-i-1-web');
  t.equal(f.Image, 'busybox', "the app's image, the one certainly there");
  t.same(f.Entrypoint, ['/.faass/forward'], 'running faass\'s forwarder, not the image\'s entrypoint');
  t.same(f.Cmd, ['/.faass/svc/app.sock', '9001'], 'to the app\'s port');
  t.same(f.Healthcheck, { Test: ['NONE'] }, "nor the image's healthcheck");
  t.equal(f.User, '1000:1000', "as faass's user: the socket is theirs, and the proxy may connect");
  const h = f.HostConfig ?? {};
  t.equal(h.NetworkMode, 'container:abcdef012345', "in the app's network");
  t.same(h.Mounts, [
    { Type: 'bind', Source: '/run/user/1000/faass/svc/web', Target: '/.faass/svc' },
    { Type: 'bind', Source: '/opt/faass/dist/app/faass-forward', Target: '/.faass/forward', ReadOnly: true },
  ], 'the runtime directory for its socket, the program read-only');
  t.equal(h.ReadonlyRootfs, true);
  t.same(h.CapDrop, ['ALL']);
  t.same(h.SecurityOpt, ['no-new-privileges']);
  t.equal(h.PidsLimit, FORWARDER_PIDS, 'a pids limit of its own');
  t.ok((h.Memory ?? 0) > 0 && h.Memory === h.MemorySwap, 'and a memory limit, no swap');
  t.same(f.Labels, { 'faass.function': 'web', 'faass.install': 'i-1', 'faass.role': 'forwarder' }, "labelled as the app is: faass's removals find it");
});
