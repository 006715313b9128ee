// File drops (issue 14): the glob rule (what systemd's PathExistsGlob= and the claim both match),
// the rules on --watch and --pattern, the triggers file holding both kinds, claim names, the
// event, a call's drop origin through the spool, and the units of a drop.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { globRegExp, checkWatchDir, checkPattern, buildFileDrop, checkWatchable } from '../../src/functions/file-drops';
import { buildSchedule, parseTriggers, renderTriggers, nextId } from '../../src/functions/schedules';
import { claimName, fileEvent, dropCall } from '../../src/queue/drop-fire';
import { decodeCall, encodeCall } from '../../src/queue/spool';
import { renderDropPath, renderDropService, renderFunctionService, UnitContext } from '../../src/systemd/units';
import { buildFunctionConfig } from '../../src/functions/function-config';

const ctx: UnitContext = { node: '/usr/bin/node', dist: '/home/u/.local/lib/faass/dist', proxyd: '/usr/lib/systemd/systemd-socket-proxyd', xdg: { config: '/home/u/.config', data: '/home/u/.local/share', state: '/home/u/.local/state' }, engine: '/var/run/docker.sock' };

t.test('globs match as glob(3) does: no hidden names, classes, ? and *', async (t) => {
  const m = (p: string, n: string) => globRegExp(p).test(n);
  t.ok(m('*', 'a.csv'));
  t.notOk(m('*', '.a.csv.part'), '* never matches a hidden name: the rule for files still being written');
  t.notOk(m('*', '.faass'), "nor faass's own area");
  t.ok(m('*.csv', 'x.csv'));
  t.notOk(m('*.csv', 'x.csvx'));
  t.notOk(m('*.csv', 'xcsv'), '. is literal');
  t.ok(m('in-??.txt', 'in-07.txt'));
  t.ok(m('[a-c]*', 'b1'));
  t.notOk(m('[!a-c]*', 'b1'));
  t.ok(m('[!a-c]*', 'd1'));
});

t.test('--watch and --pattern: what is refused, with why', async (t) => {
  t.equal(checkWatchDir('/srv/in/'), '/srv/in');
  t.equal(checkWatchDir('/srv//in/../in'), '/srv/in');
  t.throws(() => checkWatchDir('in'), { message: /absolute path/ });
  t.throws(() => checkWatchDir('/srv/my dir'), { message: /whitespace/ });
  t.throws(() => checkWatchDir('/srv/*'), { message: /glob characters/ });
  t.throws(() => checkWatchDir('/'), { message: /not \// });
  t.throws(() => checkWatchDir('/srv/in/.faass/done'), { message: /\.faass area/ });
  t.equal(checkPattern('*.csv'), '*.csv');
  t.throws(() => checkPattern('.*'), { message: /not starting with '\.'/ });
  t.throws(() => checkPattern('a/b'), { message: /a glob of file names/ });
  t.throws(() => checkPattern('[ab'), { message: /\[ without \]/ });
  t.throws(() => buildFileDrop('1', { watch: '/srv/in', inline_max: '2M' }), { message: /inline_max/ });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drops-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  t.throws(() => checkWatchable(path.join(dir, 'none'), []), { code: 'FAASS_E_FILE_MISSING' });
  fs.writeFileSync(path.join(dir, 'f'), '');
  t.throws(() => checkWatchable(path.join(dir, 'f'), []), { message: /not a directory/ });
  t.throws(() => checkWatchable(dir, [path.join(dir, 'state', 'faass')]), { message: /faass's own directory .* is below it/ });
  t.throws(() => checkWatchable(path.join(dir), [dir]), { message: /faass's own directory/ });
  t.doesNotThrow(() => checkWatchable(dir, ['/elsewhere']));
  // A symlink (or one on the way) to faass's own directory is that directory.
  fs.mkdirSync(path.join(dir, 'state', 'faass', 'queue'), { recursive: true });
  fs.symlinkSync(path.join(dir, 'state', 'faass', 'queue'), path.join(dir, 'q'));
  fs.symlinkSync(path.join(dir, 'state'), path.join(dir, 's'));
  t.throws(() => checkWatchable(path.join(dir, 'q'), [path.join(dir, 'state', 'faass')]), { message: /faass's own directory .* is above it/ });
  t.throws(() => checkWatchable(path.join(dir, 's', 'faass'), [path.join(dir, 'state', 'faass')]), { message: /faass's own directory/ });
  t.throws(() => checkWatchable(path.join(dir, 'q'), [path.join(dir, 's', 'faass')]), { message: /faass's own directory/ }, 'their paths may be links too');
});

t.test('one triggers file holds schedules and file drops, one id space', async (t) => {
  const s = buildSchedule('1', { spec: 'hourly', tz: 'UTC' });
  const d = buildFileDrop('2', { watch: '/srv/in', pattern: '*.csv', keep: '1d' });
  const text = renderTriggers('f', { schedules: [s], drops: [d], nats: [] });
  t.same(parseTriggers('f', text), { schedules: [s], drops: [d], nats: [] }, 'read back as written');
  t.same(buildFileDrop('3', { watch: '/srv/x' }), { id: '3', watch: '/srv/x', pattern: '*', inlineMax: 65536, keep: 604800, chainLimit: 5 }, 'defaults');
  t.throws(() => parseTriggers('f', '[1]\nwatch=/srv/in\nspec=hourly\n'), { message: /Unknown key "spec" in file drop 1/ });
  t.equal(nextId([s, d]), '3', 'ids are shared by both kinds (their units share names)');
});

t.test('claim names and the event', async (t) => {
  const e = claimName('report.csv', { ino: 1234n, mtimeNs: 1700000000123456789n, mtimeMs: 0 });
  t.match(e, /^ya-[0-9a-z]+-report\.csv$/, 'inode, mtime (ns), name');
  t.not(e, claimName('report.csv', { ino: 1234n, mtimeNs: 1700000000123456790n, mtimeMs: 0 }), 'a new file of the same name is a new claim');
  t.ok(Buffer.byteLength(claimName('é'.repeat(200), { ino: 1n, mtimeNs: 1n, mtimeMs: 0 })) < 200, 'long names are cut to fit a name');
  const d = buildFileDrop('in', { watch: '/srv/in', inline_max: '4' });
  const small = fileEvent(d, 'a', e, { size: 3, mtimeMs: 0 }, Buffer.from('abc'));
  t.same(small, { trigger: 'file', id: 'in', path: '/srv/in/a', name: 'a', size: 3, mtime: '1970-01-01T00:00:00.000Z', claimed: `/srv/in/.faass/processing/${e}`, content: 'YWJj' });
  t.same(fileEvent(d, 'a', e, { size: 5, mtimeMs: 0 }, null).contentOmitted, 'larger than 4 bytes');
  const call = dropCall('fn', d, e, small);
  t.same([call.headers['x-faass-trigger'], call.headers['x-faass-trigger-id'], call.headers['x-faass-chain-depth']], ['file', 'in', '1']);
  t.same(decodeCall(encodeCall(call))?.drop, { id: 'in', entry: e }, 'the spool keeps where the call came from');
  const forged = encodeCall({ ...call, drop: { id: 'in', entry: '../../etc' } });
  t.equal(decodeCall(forged), null, 'a drop origin naming a path is not a call faass wrote');
});

// A --watch taken is written to the triggers file before its units are rendered: one the units
// then refuse would break every later unit change (deploy, delete) until the file is edited.
t.test('every --watch that is taken renders as units; the rest are refused with why', async (t) => {
  for (const dir of ['/srv/a:b', '/srv/50%', '/srv/$HOME', '/srv/a;b', '/srv/ü', '/srv/a=b', '/srv/-x']) {
    let taken: string | null = null;
    try {
      taken = checkWatchDir(dir);
    } catch (e) {
      t.match(e, { code: 'FAASS_E_CONFIG_INVALID', message: /--watch/ }, `${dir} refused`);
      continue;
    }
    const d = buildFileDrop('1', { watch: taken });
    t.doesNotThrow(() => renderDropPath('fn', d, ctx), `${dir} taken, its path unit renders`);
    t.doesNotThrow(() => renderDropService('fn', d, ctx), `${dir} taken, its service renders`);
    t.doesNotThrow(() => renderFunctionService(buildFunctionConfig('fn', { runtime: 'exec', command: 'cat' }), ctx, [d]), `${dir} taken, its function's unit renders`);
  }
  t.throws(() => checkWatchDir('/srv/a:b'), { message: /colons/ });
});

t.test('units: a path unit on the glob and the settled marks, a oneshot that may write DIR', async (t) => {
  const d = buildFileDrop('in', { watch: '/srv/in%x', pattern: '*.csv' });
  const p = renderDropPath('fn', d, ctx);
  t.match(p, /^PathExistsGlob=\/srv\/in%%x\/\*\.csv$/m, 'the glob, % escaped');
  t.match(p, /^DirectoryNotEmpty=\/home\/u\/\.local\/state\/faass\/queue\/fn\/drops\/in\/settled$/m);
  t.notMatch(p, /DirectoryNotEmpty=\/srv/, 'not DirectoryNotEmpty= on DIR: its .faass area would keep it true');
  t.match(p, /^WantedBy=paths\.target$/m);
  const s = renderDropService('fn', d, ctx);
  t.match(s, /^ExecStart=\/usr\/bin\/node \/home\/u\/\.local\/lib\/faass\/dist\/queue\/drop-main\.js --function fn --trigger in$/m);
  t.match(s, /^ReadWritePaths=-\/home\/u\/\.local\/state\/faass\/queue$/m);
  t.match(s, /^ReadWritePaths=-\/srv\/in%%x$/m);
  t.match(s, /^ProtectSystem=strict$/m);
  t.match(s, /^Type=oneshot$/m);
});

t.test('chain_limit: 5 by default, a whole number 1-100, kept in the triggers file', async (t) => {
  t.equal(buildFileDrop('1', { watch: '/srv/in' }).chainLimit, 5);
  t.equal(buildFileDrop('1', { watch: '/srv/in', chain_limit: '3' }).chainLimit, 3);
  for (const bad of ['0', '101', '2.5', 'x', '-1']) t.throws(() => buildFileDrop('1', { watch: '/srv/in', chain_limit: bad }), { code: 'FAASS_E_CONFIG_INVALID', message: /chain_limit/ }, `${bad} refused`);
  const d = buildFileDrop('2', { watch: '/srv/in', chain_limit: '100' });
  t.same(parseTriggers('f', renderTriggers('f', { schedules: [], drops: [d], nats: [] })).drops, [d], 'read back as written');
  t.notMatch(renderTriggers('f', { schedules: [], drops: [buildFileDrop('1', { watch: '/srv/in' })], nats: [] }), /chain_limit/, 'the default is not written');
});

t.test("units: the path unit also looks at the closed outboxes; the function's unit may write each drop's in/ only, and is told where", async (t) => {
  const d = buildFileDrop('in', { watch: '/srv/in%x', pattern: '*.csv' });
  t.match(renderDropPath('fn', d, ctx), /^PathExistsGlob=\/srv\/in%%x\/\.faass\/in\/\*$/m, 'in/*: no hidden (open) outbox matches');
  const other = buildFileDrop('b2', { watch: '/srv/b$x' });
  const unit = renderFunctionService(buildFunctionConfig('fn', { runtime: 'exec', command: 'cat' }), ctx, [d, other]);
  t.match(unit, /^ReadWritePaths=-\/srv\/in%%x\/\.faass\/in$/m);
  t.match(unit, /^ReadWritePaths=-\/srv\/b\$x\/\.faass\/in$/m);
  t.same(unit.match(/^ReadWritePaths=.*$/gm), ['ReadWritePaths=-/srv/in%%x/.faass/in', 'ReadWritePaths=-/srv/b$x/.faass/in'], 'nothing else of DIR');
  t.match(unit, /^Environment="FAASS_DROP_INBOXES=in:\/srv\/in%%x\/\.faass\/in b2:\/srv\/b\$\$x\/\.faass\/in"$/m, '% and $ escaped for systemd');
  const plain = renderFunctionService(buildFunctionConfig('fn', { runtime: 'exec', command: 'cat' }), ctx, []);
  t.notMatch(plain, /ReadWritePaths=|FAASS_DROP_INBOXES/, 'a function without drops: neither');
  const docker = renderFunctionService(buildFunctionConfig('fn', { runtime: 'docker', image: 'busybox' }), ctx, [d]);
  t.notMatch(docker, /ReadWritePaths=|FAASS_DROP_INBOXES/, 'a container function: no outbox (not done)');
});
