// faassctl logs runs journalctl; what journalctl says only on stderr must not pass for an empty log.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { logs } from '../../src/faassctl/logs';
import { functionUnits, triggerIds } from '../../src/functions/log-match';
import { resolvePaths, functionConfPath } from '../../src/core/paths';
import { buildFunctionConfig, renderFunctionConfig } from '../../src/functions/function-config';
import { buildSchedule, saveTriggers } from '../../src/functions/schedules';
import { buildFileDrop } from '../../src/functions/file-drops';
import { buildNatsTrigger } from '../../src/functions/nats-triggers';
import { FaassError } from '../../src/core/errors';

// A journalctl of the test's own, first on PATH: prints to stderr, exits 0, as journalctl does.
function fakeJournalctl(t: { teardown(f: () => void): void }, stderr: string): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-logs-'));
  fs.writeFileSync(path.join(dir, 'journalctl'), `#!/bin/sh\nprintf '%s\\n' ${JSON.stringify(stderr)} >&2\nexit 0\n`, { mode: 0o755 });
  const before = process.env.PATH;
  process.env.PATH = `${dir}:${before}`;
  t.teardown(() => {
    process.env.PATH = before;
    fs.rmSync(dir, { recursive: true, force: true });
  });
}

t.test('a journal that cannot be read: an error that says so, not an empty log and exit 0', async (t) => {
  fakeJournalctl(t, 'No journal files were opened due to insufficient permissions.');
  const e = await logs('echo', {}).then(() => null, (err: unknown) => err as FaassError);
  t.equal(e?.code, 'FAASS_E_JOURNAL_UNREADABLE');
  t.match(e?.message, /^Cannot read the journal of echo: journalctl opened no journal file/);
  t.equal(e?.exitCode, 6);
});

t.test("journalctl's other words on stderr pass through; its exit code is faassctl's", async (t) => {
  fakeJournalctl(t, 'Hint: You are currently not seeing messages from other users and the system.');
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((d: string) => written.push(String(d)) > 0) as typeof process.stderr.write;
  t.teardown(() => (process.stderr.write = write));
  t.equal(await logs('echo', {}), 0);
  t.match(written.join(''), /^Hint: You are currently not seeing messages/);
});

t.test('--lines must be a whole number', async (t) => {
  t.throws(() => logs('echo', { lines: NaN }), { code: 'FAASS_E_USAGE', message: /Invalid --lines "NaN": expected a whole number/ });
});

t.test("faassctl logs NAME: the lines of every kind of the function's triggers (their units)", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-logs-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: dir, XDG_STATE_HOME: dir, XDG_DATA_HOME: dir, XDG_RUNTIME_DIR: dir });
  fs.mkdirSync(path.dirname(functionConfPath(p, 'fn')), { recursive: true });
  fs.writeFileSync(functionConfPath(p, 'fn'), renderFunctionConfig(buildFunctionConfig('fn', { runtime: 'exec', command: 'cat' })));
  saveTriggers(p, 'fn', { schedules: [buildSchedule('1', { spec: 'hourly', tz: 'UTC' })], drops: [buildFileDrop('2', { watch: path.join(dir, 'in') })], nats: [buildNatsTrigger('fn', '3', { nats: 'nats://127.0.0.1:4222', subject: 'orders.>' })] });
  t.same(triggerIds(p, 'fn').sort(), ['1', '2', '3'], "a schedule's, a file drop's and a NATS bridge's");
  t.same(triggerIds(p, 'gateway'), [], "faass's own logs have none");
});

t.test('faassctl logs and the API: the app unit only for a service', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-logs-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const p = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: dir, XDG_STATE_HOME: dir, XDG_DATA_HOME: dir, XDG_RUNTIME_DIR: dir });
  fs.mkdirSync(path.dirname(functionConfPath(p, 'fn')), { recursive: true });
  fs.writeFileSync(functionConfPath(p, 'fn'), renderFunctionConfig(buildFunctionConfig('fn', { runtime: 'exec', command: 'cat' })));
  fs.writeFileSync(functionConfPath(p, 'web'), renderFunctionConfig(buildFunctionConfig('web', { kind: 'service', port: '8081', runtime: 'exec', command: 'httpd' })));
  t.same(functionUnits(p, 'fn'), { service: false, triggers: [] }, 'a function');
  t.same(functionUnits(p, 'web'), { service: true, triggers: [] }, 'a service');
  t.same(functionUnits(p, 'gone'), { service: false, triggers: [] }, 'not deployed: none');
});
