// Issue 11 items 22 and 21, against a real Docker engine and the real user manager: a container
// function's containers never outlive its runner, and its limits bound all its containers together.
import t from 'tap';
import * as http from 'node:http';
import * as path from 'node:path';
import { startSandbox, setupGateway, request, waitFor, unitState, Reply } from '../support/sandbox';
import { startEngine, BUSYBOX, Engine } from '../support/docker';

const MiB = 1024 * 1024;

// The containers of one function of this test (label faass.function), with their limits as the engine holds them.
async function containersOf(engine: Engine, fn: string): Promise<{ id: string; memory: number; pids: number; nanoCpus: number }[]> {
  const list = await engine.docker.listContainers({ all: true, filters: { label: [`faass.function=${fn}`] } });
  const out = [];
  for (const c of list) {
    const info = await engine.docker.getContainer(c.Id).inspect().catch(() => null); // it may have gone meanwhile
    if (info) out.push({ id: c.Id, memory: info.HostConfig.Memory ?? 0, pids: info.HostConfig.PidsLimit ?? 0, nanoCpus: info.HostConfig.NanoCpus ?? 0 });
  }
  return out;
}

t.test('container functions: bounded in time and in sum', async (t) => {
  const engine = await startEngine(t);
  const sb = await startSandbox(t);
  t.equal((await sb.faassctl('init', '--port', String(sb.port), '--idle', '1', '--docker-host', `unix://${engine.socket}`)).code, 0);
  await setupGateway(sb, 1);
  const deploy = async (name: string, ...args: string[]) => {
    const r = await sb.faassctl('deploy', name, '--runtime', 'docker', '--image', BUSYBOX, ...args);
    t.equal(r.code, 0, `deploy ${name} ${r.stderr}`);
  };

  t.test('a runner killed mid-call leaves no container once its unit has stopped', async (t) => {
    await deploy('dsleep', '--command', 'sleep 600', '--timeout', '300', '--idle', '60');
    // Containers this install must not touch: another install's of the same function name, and
    // one of another function (the test's own, removed by the test).
    const strangers = [
      await engine.docker.createContainer({ Image: BUSYBOX, Cmd: ['sleep', '600'], Labels: { 'faass.function': 'dsleep', 'faass.call': 'x', 'faass.install': 'another' } }),
      await engine.docker.createContainer({ Image: BUSYBOX, Cmd: ['sleep', '600'], Labels: { 'faass.function': 'dother', 'faass.call': 'y' } }),
    ];
    t.teardown(() => Promise.all(strangers.map((c) => c.remove({ force: true }).catch(() => undefined))));
    const strangerIds = new Set(strangers.map((c) => c.id));
    const ours = async () => (await containersOf(engine, 'dsleep')).filter((c) => !strangerIds.has(c.id));

    const call: Promise<Reply> = request(sb.port, '/function/dsleep', { timeoutMs: 320_000 });
    await waitFor("the call's container", async () => (await ours()).length === 1, 60_000);
    const pid = Number((await sb.systemctl('show', 'faass-fn-dsleep.service', '--property=MainPID', '--value')).stdout.trim());
    t.ok(pid > 0, 'the runner has a main pid');
    process.kill(pid, 'SIGKILL');
    t.equal((await call).status, 502, 'the caller is told the runner stopped');
    await waitFor('the unit to stop', async () => /^(inactive|failed)$/.test((await sb.systemctl('show', 'faass-fn-dsleep.service', '--property=ActiveState', '--value')).stdout.trim()), 60_000);
    // The container's command sleeps 600 s and the call's timeout is 300 s: only the unit's
    // stop can end it within this wait.
    await waitFor("the call's container to be gone", async () => (await ours()).length === 0, 60_000);
    t.pass("the call's container is gone");
    const left = new Set((await engine.docker.listContainers({ all: true })).map((c) => c.Id));
    t.ok(strangers.every((c) => left.has(c.id)), "another install's and another function's containers are untouched");
  });

  // A stop lets running calls finish (a redeploy must not cut them), but a runner that exits
  // with calls still running (their callers gone: a gateway's timeout, a client that hung up)
  // ends their containers.
  t.test('systemctl stop: the containers of calls whose callers left end with the runner', async (t) => {
    await deploy('dstop', '--command', 'sleep 600', '--timeout', '300', '--idle', '60');
    const socketPath = path.join(sb.env.XDG_RUNTIME_DIR as string, 'faass', 'fn', 'dstop.sock');
    const req = http.request({ socketPath, method: 'POST', path: '/' });
    req.on('error', () => undefined); // cut below, on purpose
    req.end('x');
    await waitFor("the call's container", async () => (await containersOf(engine, 'dstop')).length === 1, 60_000);
    t.equal((await sb.systemctl('stop', '--no-block', 'faass-fn-dstop.service')).code, 0, 'systemctl stop');
    await waitFor('the runner to be stopping', async () => (await unitState(sb, 'faass-fn-dstop.service')).startsWith('deactivating'), 60_000);
    req.destroy(); // the caller leaves: the runner has nothing left to wait for
    await waitFor('the unit to stop', async () => /^(inactive|failed)\//.test(await unitState(sb, 'faass-fn-dstop.service')), 60_000);
    t.equal((await containersOf(engine, 'dstop')).length, 0, 'no container once the unit has stopped');
  });

  t.test("30 parallel calls never hold more than the function's limits in sum", async (t) => {
    await deploy('dpar', '--command', 'sleep 1', '--memory-max', '64M', '--tasks-max', '16', '--cpu-quota', '40', '--timeout', '120', '--idle', '30');
    let sampling = true;
    let most = { count: 0, memory: 0, pids: 0, nanoCpus: 0 };
    const sampler = (async () => {
      while (sampling) {
        const now = await containersOf(engine, 'dpar');
        const sum = (k: 'memory' | 'pids' | 'nanoCpus') => now.reduce((s, c) => s + c[k], 0);
        most = { count: Math.max(most.count, now.length), memory: Math.max(most.memory, sum('memory')), pids: Math.max(most.pids, sum('pids')), nanoCpus: Math.max(most.nanoCpus, sum('nanoCpus')) };
      }
    })();
    const replies = await Promise.all(Array.from({ length: 30 }, () => request(sb.port, '/function/dpar', { timeoutMs: 130_000 })));
    sampling = false;
    await sampler;
    t.same(replies.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.body.slice(0, 300)}`), [], 'every call is answered 200 (calls beyond the cap wait their turn)');
    t.ok(most.count >= 1, `containers were seen (${most.count} at most at once)`);
    t.ok(most.memory > 0 && most.memory <= 64 * MiB, `memory in sum ${most.memory / MiB} MiB <= 64 MiB`);
    t.ok(most.pids > 0 && most.pids <= 16, `pids in sum ${most.pids} <= 16`);
    t.ok(most.nanoCpus > 0 && most.nanoCpus <= 0.4e9, `CPU in sum ${most.nanoCpus / 1e7}% <= 40%`);
  });

  t.test('deploy refuses limits too small to share among its containers', async (t) => {
    const r = await sb.faassctl('deploy', 'dtiny', '--runtime', 'docker', '--image', BUSYBOX, '--memory-max', '64M', '--workers', '8');
    t.equal(r.code, 2, 'exit 2');
    t.match(r.stderr, /^faassctl: Function dtiny: memory_max=64M shared by workers=8 containers leaves 8M each, below the 16M a container needs.*\(FAASS_E_CONFIG_INVALID\)\n$/, `one line that says why ${r.stderr}`);
    t.equal((await sb.faassctl('describe', 'dtiny')).code, 3, 'nothing deployed');
    const help = (await sb.faassctl('deploy', '--help')).stdout.replace(/\s+/g, ' ');
    for (const opt of ['memory-max', 'tasks-max', 'cpu-quota']) t.match(help, new RegExp(`--${opt} [^\\[]*all its containers together, each gets ${opt}/workers`), `deploy --help says how --${opt} applies to containers`);
    t.match(help, /--workers [^[]*docker: containers at once, later calls wait their turn/, 'and what --workers means for them');
  });
});
