// An exec function's process through posix_spawn (faass-spawn.node, issue 18): what the function
// sees (its exit, signals, cwd, env, group, descriptors) is what Node's spawn gave it, and every
// child is reaped. The addon is the one the build wrote to dist/runner.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadAddon, spawnFunction } from '../../src/runner/fast-spawn';
import { ExecExecutor } from '../../src/runner/exec-executor';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { ROOT } from '../support/root';

const ADDON = path.join(ROOT, 'dist/runner/faass-spawn.node');
const PATH_ENV = { PATH: '/usr/bin:/bin' };

interface Ran {
  pid: number | undefined;
  code: number | null;
  signal: string | null;
  out: Buffer;
  err: string;
  error?: NodeJS.ErrnoException;
}

// Runs to 'close', feeding input.
function run(file: string, args: string[], opts: { input?: string | Buffer; env?: Record<string, string>; cwd?: string} = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const c = spawnFunction(file, args, { cwd: opts.cwd ?? os.tmpdir(), env: opts.env ?? PATH_ENV });
    const out: Buffer[] = [];
    let err = '';
    let error: NodeJS.ErrnoException | undefined;
    c.on('error', (e) => (error = e));
    c.stdin.on('error', () => {});
    c.stdin.end(opts.input ?? '');
    c.stdout.on('data', (d: Buffer) => {
      out.push(d);
    });
    c.stderr.on('data', (d: Buffer) => (err += d));
    c.on('close', (code, signal) => resolve({ pid: c.pid, code, signal, out: Buffer.concat(out), err, error }));
  });
}

// This process's children that have exited and not been waited for.
function zombies(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return fields[0] === 'Z' && Number(fields[1]) === process.pid;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

const haveAddon = fs.existsSync(ADDON);
t.test('posix_spawn (the addon dist/runner holds)', { skip: haveAddon ? false : `${ADDON} not built (no cc or Node headers)` }, async (t) => {
  t.ok(loadAddon(ADDON), 'the addon loads');

  t.test('stdin in, stdout out, the exit code', async (t) => {
    const r = await run('sh', ['-c', 'cat; exit 3'], { input: 'hello' });
    t.equal(r.out.toString(), 'hello');
    t.equal(r.code, 3);
    t.equal(r.signal, null);
    t.equal(r.error, undefined);
  });

  t.test('killed by a signal: its name, no code', async (t) => {
    const r = await run('sh', ['-c', 'kill -KILL $$']);
    t.equal(r.code, null);
    t.equal(r.signal, 'SIGKILL');
  });

  t.test('a missing command: ENOENT, searched in the PATH of the env given (as Node does)', async (t) => {
    const r = await run('no-such-command-faass', []);
    t.equal(r.error?.code, 'ENOENT');
    t.equal(r.pid, undefined);
    const cat = await run('cat', [], { env: { PATH: '/nonexistent' }, input: 'x' });
    t.equal(cat.error?.code, 'ENOENT', "the env's PATH, not the runner's");
    const dflt = await run('cat', [], { env: {}, input: 'x' });
    t.equal(dflt.out.toString(), 'x', 'no PATH: /usr/bin:/bin, as libuv');
    const cfg = buildFunctionConfig('fn', { runtime: 'exec', command: 'no-such-command-faass' });
    await t.rejects(new ExecExecutor(cfg, os.tmpdir()).invoke({ id: 'c1', method: 'POST', path: '/', query: '', headers: {}, body: Buffer.alloc(0) }), { message: /command not found: no-such-command-faass/ }, "the function's error says so");
  });

  t.test('a file that is not executable: EACCES', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-spawn-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'f'), '#!/bin/sh\n', { mode: 0o644 });
    t.equal((await run(path.join(dir, 'f'), [])).error?.code, 'EACCES');
  });

  t.test('cwd, and the env exactly as given', async (t) => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'faass-spawn-')));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    t.equal((await run('pwd', [], { cwd: dir })).out.toString(), `${dir}\n`);
    const env = { ...PATH_ENV, A: 'one two', B: '', C: 'x=y' };
    const r = await run('/usr/bin/env', ['-0'], { env });
    t.same(r.out.toString().split('\0').filter(Boolean).sort(), Object.entries(env).map(([k, v]) => `${k}=${v}`).sort());
  });

  t.test('its own session and process group (a timeout kills the group)', async (t) => {
    const r = await run('cat', ['/proc/self/stat']);
    const fields = r.out.toString().slice(r.out.toString().lastIndexOf(')') + 2).split(' ');
    t.equal(Number(fields[2]), r.pid, 'pgid == pid');
    t.equal(Number(fields[3]), r.pid, 'sid == pid');
  });

  t.test('SIGPIPE at its default (Node ignores it): a write to a closed stdout kills the child', async (t) => {
    // Closed with nothing unread (else the child's write fails ECONNRESET, no signal), then told
    // to write.
    const c = spawnFunction('sh', ['-c', 'echo go; read x; exec yes'], { cwd: os.tmpdir(), env: PATH_ENV });
    c.stdout.once('data', () => {
      c.stdout.destroy();
      c.stdin.end('x\n');
    });
    const [code, signal] = (await once(c, 'close')) as [number | null, string | null];
    t.same({ code, signal }, { code: null, signal: 'SIGPIPE' });
  });

  t.test("nothing blocked, nothing ignored (glibc's own 32 and 33 too, as Node's children)", async (t) => {
    const status = (await run('cat', ['/proc/self/status'])).out.toString();
    t.match(status, /^SigBlk:\s*0+$/m);
    t.match(status, /^SigIgn:\s*0+$/m);
  });

  t.test('no descriptor beyond 2 reaches it', async (t) => {
    // fd 3 is ls's own, reading the directory
    const r = await run('ls', ['/proc/self/fd']);
    t.same(r.out.toString().trim().split('\n'), ['0', '1', '2', '3']);
  });

  t.test('5 MB of output, whole', async (t) => {
    const r = await run('head', ['-c', String(5 * 1024 * 1024), '/dev/zero']);
    t.equal(r.out.length, 5 * 1024 * 1024);
    t.equal(r.code, 0);
  });

  t.test('a child that does not read its input', async (t) => {
    const r = await run('true', [], { input: Buffer.alloc(4 * 1024 * 1024) });
    t.equal(r.code, 0);
    t.equal(r.error, undefined);
  });

  t.test('200 children, 20 at a time: all closed, none left a zombie', async (t) => {
    let next = 0;
    const codes: (number | null)[] = [];
    const worker = async () => {
      while (next < 200) {
        const i = next++;
        const r = await run('sh', ['-c', `cat >/dev/null; exit ${i % 7}`], { input: 'x' });
        codes[i] = r.code;
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    t.same(codes, Array.from({ length: 200 }, (_, i) => i % 7), 'each its own exit code');
    t.same(zombies(), [], 'no zombie');
  });

  t.test("Node's own children are still Node's to reap", async (t) => {
    const r = spawnSync('sh', ['-c', 'exit 5']);
    t.equal(r.status, 5);
    const mine = await run('sh', ['-c', 'exit 4']);
    t.equal(mine.code, 4);
  });
});

// In a node of its own: which spawn a fresh runner picks is decided once, at its first call.
function fresh(env: Record<string, string>, addon?: string) {
  const script = `
    const f = require(${JSON.stringify(path.join(ROOT, 'dist/runner/fast-spawn.js'))});
    ${addon ? `f.loadAddon(${JSON.stringify(addon)});` : ''}
    const c = f.spawnFunction('ls', ['/proc/self/fd'], { cwd: '/', env: { PATH: '/usr/bin:/bin' } });
    let out = '';
    c.stdin.end();
    c.stdout.on('data', (d) => (out += d));
    c.on('close', (code) => console.log(JSON.stringify({ code, fds: out.trim().split('\\n') })));`;
  const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { ...(JSON.parse(r.stdout) as { code: number; fds: string[] }), stderr: r.stderr };
}

t.test("FAASS_SPAWN=node: Node's spawn, said once", { skip: fs.existsSync(path.join(ROOT, 'dist/runner/fast-spawn.js')) ? false : 'not built' }, async (t) => {
  const r = fresh({ FAASS_SPAWN: 'node' });
  t.equal(r.code, 0);
  t.match(r.stderr, /Starting exec functions with Node's spawn \(FAASS_SPAWN=node\)/);
});

t.test("no addon: Node's spawn, and why", { skip: fs.existsSync(path.join(ROOT, 'dist/runner/fast-spawn.js')) ? false : 'not built' }, async (t) => {
  const r = fresh({}, '/nonexistent/faass-spawn.node');
  t.equal(r.code, 0);
  t.match(r.stderr, /Starting exec functions with Node's spawn: \/nonexistent\/faass-spawn.node does not load/);
});
