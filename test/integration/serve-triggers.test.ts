// Triggers without a user manager (issue 14 under faassctl serve, issue 3): serve runs the
// programs the trigger units run, when their units would. A file dropped into a watched directory
// is handed to the function once and moved to done/; a schedule fires every 5 s; a NATS bridge
// turns a message into a call; trigger rm stops each, and serve's state file lists them.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, execFile, ChildProcess } from 'node:child_process';
import { connect } from 'nats';
import { FAASSCTL, freePort, request, waitFor } from '../support/sandbox';
import { NATS_SERVER, runNatsServer } from '../support/nats-server';


interface Served {
  programs: { name: string; role: string; pid: number | null }[];
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const list = (dir: string): string[] => {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
};

t.test('triggers under faassctl serve', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-serve-trig-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const runtime = path.join(dir, 'runtime');
  fs.mkdirSync(runtime, { mode: 0o700 });
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_RUNTIME_DIR: runtime };
  const ctl = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [FAASSCTL, ...args], { env }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr })),
    );
  const served = (): Served => JSON.parse(fs.readFileSync(path.join(runtime, 'faass', 'serve.json'), 'utf8')) as Served;
  const program = (name: string) => served().programs.find((p) => p.name === name);

  // The function notes each call it is handed: the trigger, its id and the body (a file's event
  // names the file).
  const log = path.join(dir, 'calls.log');
  const script = path.join(dir, 'note.sh');
  fs.writeFileSync(script, `#!/bin/sh\nbody=$(head -c 400 | tr -d '\\n')\necho "$Http_X_Faass_Trigger $Http_X_Faass_Trigger_Id $body" >> ${log}\necho ok\n`, { mode: 0o755 });
  const calls = (kind: string, id: string) => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '').split('\n').filter((l) => l.startsWith(`${kind} ${id} `));

  const port = await freePort();
  t.equal((await ctl('init', '--port', String(port))).code, 0);
  t.equal((await ctl('deploy', 'note', '--runtime', 'exec', '--from-file', script)).code, 0);
  const inbox = path.join(dir, 'inbox');
  fs.mkdirSync(inbox);
  const drop = (name: string, content: string) => {
    fs.writeFileSync(path.join(inbox, `.${name}.part`), content);
    fs.renameSync(path.join(inbox, `.${name}.part`), path.join(inbox, name));
  };
  drop('early.txt', 'dropped before serve started');

  const child: ChildProcess = spawn(process.execPath, [FAASSCTL, 'serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  child.stderr?.on('data', (d: Buffer) => (said += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await waitFor('the gateway', async () => (await request(port, '/healthz', { method: 'GET' }).catch(() => ({ status: 0 }))).status === 200, 30000);

  await t.test('a file drop hands each file over once and moves it to done/', async (t) => {
    const add = await ctl('trigger', 'add', 'note', '--watch', inbox, '--id', 'box');
    t.equal(add.code, 0, add.stderr);
    t.match(add.stderr, /faassctl serve \(pid \d+\) took the change up/);
    t.ok(program('faass-fn-note-at-box'), "serve's state lists the drop's program");
    const dropped = Date.now();
    drop('a.txt', 'alpha');
    const done = path.join(inbox, '.faass', 'done');
    await waitFor('both files in done/', () => list(done).filter((f) => /-(early|a)\.txt$/.test(f)).length === 2, 60000);
    t.comment(`a.txt: dropped to done/ in ${Date.now() - dropped} ms (claim, queue, call, settle, move)`);
    t.same(list(inbox).filter((f) => !f.startsWith('.')), [], 'the directory holds no file waiting');
    t.same(list(path.join(inbox, '.faass', 'processing')), [], 'none left in processing/');
    t.equal(calls('file', 'box').filter((l) => l.includes('"name":"a.txt"')).length, 1, 'a.txt handed to the function once');
    t.equal(calls('file', 'box').filter((l) => l.includes('"name":"early.txt"')).length, 1, 'and the file dropped before serve started, once');
  });

  await t.test("a call's outbox under serve: each call's file is claimed one link deeper, and the chain stops at its limit", async (t) => {
    // An exec function writing one file into its outbox on every call: a loop the limit stops.
    const chainLog = path.join(dir, 'chain.log');
    const loop = path.join(dir, 'loop.sh');
    fs.writeFileSync(loop, `#!/bin/sh\necho "depth=$Http_X_Faass_Chain_Depth outbox=\${FAASS_OUTBOX:+yes}" >> ${chainLog}\n[ -n "$FAASS_OUTBOX" ] && echo again > "$FAASS_OUTBOX/next.txt"\necho ok\n`, { mode: 0o755 });
    t.equal((await ctl('deploy', 'chain', '--runtime', 'exec', '--from-file', loop)).code, 0);
    const box = path.join(dir, 'chainbox');
    fs.mkdirSync(box);
    const add = await ctl('trigger', 'add', 'chain', '--watch', box, '--id', 'loop', '--chain-limit', '2');
    t.equal(add.code, 0, add.stderr);
    await waitFor('serve to take the drop up', () => program('faass-fn-chain-at-loop') !== undefined, 30000);
    fs.writeFileSync(path.join(box, '.first.txt'), 'go');
    fs.renameSync(path.join(box, '.first.txt'), path.join(box, 'first.txt'));
    const dead = async () => (await ctl('dlq', 'chain')).stdout.includes('FAASS_E_CHAIN_LIMIT');
    await waitFor('the chain to end in a dead letter', dead, 60000);
    const lines = fs.readFileSync(chainLog, 'utf8').trim().split('\n');
    t.same(lines, ['depth=1 outbox=yes', 'depth=2 outbox=yes'], 'two calls, each handed an outbox, one link deeper each');
    t.same(list(path.join(box, '.faass', 'in')), [], 'no outbox left in view');
    t.equal((await ctl('trigger', 'rm', 'chain', 'loop')).code, 0);
  });

  await t.test('schedules fire, each fire one call', async (t) => {
    for (const id of ['tick', 'tock']) {
      const add = await ctl('trigger', 'add', 'note', '--schedule', '*-*-* *:*:00/5', '--tz', 'UTC', '--id', id, '--body', `${id} body`);
      t.equal(add.code, 0, add.stderr);
    }
    t.equal(program('faass-fn-note-at-tick')?.role, 'schedule', "serve's state lists the schedule");
    await waitFor('tick to fire twice', () => calls('schedule', 'tick').length >= 2, 60000);
    t.match(calls('schedule', 'tick')[0], /^schedule tick tick body$/, 'with its trigger headers and body');
    const history = await ctl('trigger', 'history', 'note', 'tick', '--json');
    t.equal(history.code, 0, history.stderr);
    const fires = (JSON.parse(history.stdout) as { at: string; call?: string }[]).filter((f) => f.call);
    t.ok(fires.length >= 2, 'trigger history shows the fires, each with its call');
    t.equal(new Set(fires.map((f) => f.call)).size, fires.length, 'one call a fire');
    t.comment(`fires after their calendar time: ${fires.map((f) => `${Date.parse(f.at) % 5000} ms`).join(', ')}`);
    t.notMatch(said, /not fired under serve/, 'no warning that schedules do not fire');
    const logs = await ctl('logs', 'note', '--call', fires[0].call as string);
    t.match(logs.stdout, new RegExp(`schedule=tick function=note fire at \\S+: queued call=${fires[0].call}`), "logs NAME shows the fire's line, as the schedule unit's journal");
    const status = await ctl('status');
    t.equal(status.code, 0, `status under serve with triggers: ${status.stderr}`);
  });

  await t.test('trigger rm stops a schedule and a drop', async (t) => {
    t.equal((await ctl('trigger', 'rm', 'note', 'tick')).code, 0);
    t.equal((await ctl('trigger', 'rm', 'note', 'box')).code, 0);
    t.notOk(program('faass-fn-note-at-tick'), 'the schedule is gone from the state');
    t.notOk(program('faass-fn-note-at-box'), 'and the drop');
    const ticks = calls('schedule', 'tick').length;
    drop('late.txt', 'after rm');
    // tock keeps firing: two of its fires are two periods in which tick would have fired.
    const tocks = calls('schedule', 'tock').length;
    await waitFor('tock to fire twice more', () => calls('schedule', 'tock').length >= tocks + 2, 60000);
    t.equal(calls('schedule', 'tick').length, ticks, 'tick fired no more');
    t.ok(fs.existsSync(path.join(inbox, 'late.txt')), 'a file dropped after rm stays where it is');
    t.equal(calls('file', 'box').filter((l) => l.includes('late.txt')).length, 0, 'and is handed to nobody');
    t.equal((await ctl('trigger', 'rm', 'note', 'tock')).code, 0);
  });

  await t.test('a NATS bridge runs while its trigger exists', { skip: !fs.existsSync(NATS_SERVER) && 'no nats-server' }, async (t) => {
    const natsPort = await freePort();
    const store = path.join(dir, 'nats-store');
    await runNatsServer(t, ['-js', '-sd', store, '-a', '127.0.0.1', '-p', String(natsPort)]);
    const nc = await connect({ servers: `nats://127.0.0.1:${natsPort}` });
    t.teardown(() => nc.close());
    await (await nc.jetstreamManager()).streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
    const add = await ctl('trigger', 'add', 'note', '--nats', `nats://127.0.0.1:${natsPort}`, '--subject', 'orders.new', '--id', 'bus');
    t.equal(add.code, 0, add.stderr);
    const bridge = program('faass-fn-note-at-bus');
    t.equal(bridge?.role, 'nats', "serve's state lists the bridge");
    t.ok(bridge?.pid && alive(bridge.pid), 'and it runs');
    await nc.jetstream().publish('orders.new', 'order one');
    await waitFor('the message to become a call', () => calls('nats', 'bus').length >= 1, 60000);
    t.match(calls('nats', 'bus')[0], /^nats bus order one$/);
    t.equal((await ctl('trigger', 'rm', 'note', 'bus')).code, 0);
    t.notOk(program('faass-fn-note-at-bus'), 'trigger rm takes it from the state');
    await waitFor('the bridge to end', () => !alive(bridge?.pid as number), 40000);
  });

  t.equal((await ctl('delete', 'note')).code, 0);
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'serve stops cleanly');
});
