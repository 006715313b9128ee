// The one container spec: what a per-call container and a service's container get.
import t from 'tap';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { containerSpec } from '../../src/docker/container-spec';

const MiB = 1024 * 1024;
const fn = (extra: Record<string, unknown> = {}) => buildFunctionConfig('up', { runtime: 'docker', image: 'busybox', command: 'tr a-z A-Z', ...extra });
const svc = (extra: Record<string, unknown> = {}) => buildFunctionConfig('web', { kind: 'service', port: '9001', runtime: 'docker', image: 'busybox', ...extra });
const call = { kind: 'call' as const, callId: 'c-1', env: { Http_Method: 'POST' } };
const service = { kind: 'service' as const };

t.test('both kinds: the same memory limit and no swap, by default and with memory_max', async (t) => {
  for (const [what, spec] of [
    ['a call', containerSpec(fn(), call)],
    ['a service', containerSpec(svc(), service)],
  ] as const) {
    t.equal(spec.HostConfig?.Memory, 512 * MiB, `${what}: 512M by default`);
    t.equal(spec.HostConfig?.MemorySwap, spec.HostConfig?.Memory, `${what}: memory plus swap = memory, no swap`);
  }
  for (const [what, spec] of [
    ['a call', containerSpec(fn({ memory_max: '64M' }), call)],
    ['a service', containerSpec(svc({ memory_max: '64M' }), service)],
  ] as const) {
    t.equal(spec.HostConfig?.Memory, 64 * MiB, `${what}: memory_max`);
    t.equal(spec.HostConfig?.MemorySwap, 64 * MiB, `${what}: and no swap beyond it`);
  }
});

t.test('both kinds: the same sandbox and limits', async (t) => {
  for (const [what, name, spec] of [
    ['a call', 'up', containerSpec(fn({ tasks_max: '10', cpu_quota: '50' }), call)],
    ['a service', 'web', containerSpec(svc({ tasks_max: '10', cpu_quota: '50' }), service)],
  ] as const) {
    const h = spec.HostConfig ?? {};
    t.same(h.CapDrop, ['ALL'], `${what}: no capabilities`);
    t.same(h.SecurityOpt, ['no-new-privileges'], `${what}: no-new-privileges`);
    t.same(h.Tmpfs, { '/tmp': 'rw,nosuid,nodev,size=64m' }, `${what}: a 64M tmpfs /tmp`);
    t.equal(h.PidsLimit, 10, `${what}: tasks_max`);
    t.equal(h.NanoCpus, 0.5e9, `${what}: cpu_quota=50 is half a CPU`);
    t.equal((spec.Labels ?? {})['faass.function'], name, `${what}: labelled with its function`);
  }
  t.equal(containerSpec(fn(), call).HostConfig?.PidsLimit, 256, 'pids: 256 by default');
  t.equal(containerSpec(svc(), service).HostConfig?.NanoCpus, undefined, 'no CPU limit unless cpu_quota says');
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

t.test('a service: an init, a writable root, named faass-svc-NAME', async (t) => {
  const spec = containerSpec(svc(), service);
  t.equal(spec.HostConfig?.Init, true);
  t.notOk(spec.HostConfig?.ReadonlyRootfs, 'an app may write to its container');
  t.equal(spec.name, 'faass-svc-web');
});
