// A killed deploy's intent: which are interrupted (their process is gone), and whether each is
// finished (the function's file is the one it wrote) or undone (its staged code dropped).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolvePaths, Paths, functionConfPath, functionCodeDir } from '../../src/core/paths';
import { beginDeploy, aboutToCommit, endDeploy, abandonDeploy, decide, interruptedDeploys, recoverFiles, processStart, digest, Intent } from '../../src/functions/deploy-intent';
import { stageCode, emptyVersion, switchVersion, versionPath, versionsDir, newVersionId } from '../../src/functions/code-versions';

function tempPaths(t: { teardown(f: () => void): void }): Paths {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-intent-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return resolvePaths({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), XDG_STATE_HOME: path.join(dir, 'state') });
}

const intent = (over: Partial<Intent> = {}): Intent => ({ name: 'f', pid: 1, start: '1', version: 'v1', config: null, ...over });
const writeConf = (paths: Paths, name: string, text: string) => {
  fs.mkdirSync(path.dirname(functionConfPath(paths, name)), { recursive: true });
  fs.writeFileSync(functionConfPath(paths, name), text);
};

t.test('decide: finish only when the file on disk is the one the deploy wrote', async (t) => {
  t.equal(decide(intent(), 'command = cat\n'), 'undo', 'not committed yet: undo');
  t.equal(decide(intent({ config: digest('command = cat\n') }), null), 'undo', 'committing, no file yet: undo');
  t.equal(decide(intent({ config: digest('command = cat\n') }), 'command = tr\n'), 'undo', 'the old file: undo');
  t.equal(decide(intent({ config: digest('command = cat\n') }), 'command = cat\n'), 'finish', 'its file: finish');
});

t.test('processStart tells a live process from a gone one', async (t) => {
  t.match(processStart(process.pid), /^\d+$/, 'this process: its start time');
  t.equal(processStart(0), null, 'pid 0 is no process');
  t.equal(processStart(2 ** 22 + 1), null, 'beyond pid_max: gone');
});

t.test('interruptedDeploys: only those whose process is gone (or is another with the same PID)', async (t) => {
  const paths = tempPaths(t);
  t.same(interruptedDeploys(paths), [], 'none without the directory');
  const mine = beginDeploy(paths, 'live', null);
  t.same(interruptedDeploys(paths), [], 'a deploy still running is left alone');
  t.same(interruptedDeploys(paths, () => 'another start').map((i) => i.name), ['live'], 'the PID reused by another process: interrupted');
  t.same(interruptedDeploys(paths, () => null).map((i) => i.name), ['live'], 'the process gone: interrupted');
  t.same(interruptedDeploys(paths, () => {
    throw new Error('EACCES');
  }), [], 'cannot tell: left alone');
  abandonDeploy(paths, mine);
  t.same(interruptedDeploys(paths).map((i) => [i.name, i.pid]), [['live', 0]], 'abandoned (failed past its commit point): the next command takes it');
  endDeploy(paths, { ...mine, pid: 0, start: '' });
  t.same(interruptedDeploys(paths), [], 'ended');
});

t.test('one deploy of a name at a time: a live one refuses the next, a gone one is taken over', async (t) => {
  const paths = tempPaths(t);
  const first = beginDeploy(paths, 'f', 'a');
  t.throws(() => beginDeploy(paths, 'f', 'b'), { code: 'FAASS_E_DEPLOY_BUSY', message: /f is being deployed or rolled back by process \d+/ }, 'the first still runs (even in this process): the second is refused');
  t.same(interruptedDeploys(paths, () => null).map((i) => i.version), ['a'], "and the first's intent stays");
  const other = beginDeploy(paths, 'g', null);
  t.equal(other.name, 'g', 'another function is not held up');
  const second = beginDeploy(paths, 'f', 'b', () => null);
  t.equal(second.version, 'b', 'the first gone (its recovery failed): the next deploy takes its place');
  endDeploy(paths, first);
  t.same(interruptedDeploys(paths, () => null).map((i) => i.version).sort(), ['b', null].sort(), "the first's endDeploy leaves the second's intent alone");
  endDeploy(paths, second);
  endDeploy(paths, other);
  t.same(interruptedDeploys(paths, () => null), []);
  t.same(fs.readdirSync(path.join(paths.stateDir, 'deploying')), [], 'no temporary or moved-aside file is left');
});

t.test('recoverFiles: a first deploy killed before its file was written is undone, no directory left', async (t) => {
  const paths = tempPaths(t);
  const src = path.join(paths.xdg.data, 'h.sh');
  fs.mkdirSync(path.dirname(src), { recursive: true });
  fs.writeFileSync(src, 'echo hi\n');
  const i = beginDeploy(paths, 'f', newVersionId());
  stageCode(paths, 'f', src, i.version as string);
  aboutToCommit(paths, i, 'file = h.sh\n');
  t.equal(recoverFiles(paths, i), 'undo');
  t.notOk(fs.existsSync(versionsDir(paths, 'f')), 'its staged code is gone');
  t.notOk(fs.existsSync(functionCodeDir(paths, 'f')), 'no code link');
});

// A function with a running version (old) and an update of it begun and staged (i).
function updateUnderway(t: { teardown(f: () => void): void }) {
  const paths = tempPaths(t);
  const old = emptyVersion(paths, 'f', newVersionId());
  switchVersion(paths, 'f', old);
  writeConf(paths, 'f', 'command = old\n');
  const i = beginDeploy(paths, 'f', newVersionId());
  emptyVersion(paths, 'f', i.version as string);
  return { paths, old, i };
}

t.test('recoverFiles: an update killed after its file was written switches to its code', async (t) => {
  const { paths, old, i } = updateUnderway(t);
  aboutToCommit(paths, i, 'command = new\n');
  writeConf(paths, 'f', 'command = new\n'); // then killed
  t.equal(recoverFiles(paths, i), 'finish');
  t.equal(fs.realpathSync(functionCodeDir(paths, 'f')), fs.realpathSync(versionPath(paths, 'f', i.version as string)), 'the code link points at its version');
  t.equal(recoverFiles(paths, i), 'finish', 'again (a recovery killed in turn): the same');
});

t.test('recoverFiles: an update killed before its file was written keeps the old code and file', async (t) => {
  const { paths, old, i } = updateUnderway(t);
  fs.mkdirSync(`${versionPath(paths, 'f', i.version as string)}.tmp`);
  aboutToCommit(paths, i, 'command = new\n'); // then killed
  t.equal(recoverFiles(paths, i), 'undo');
  t.same(fs.readdirSync(versionsDir(paths, 'f')), [old], 'only the old version is left');
  t.equal(fs.realpathSync(functionCodeDir(paths, 'f')), fs.realpathSync(versionPath(paths, 'f', old)), 'and the link points at it');
  t.equal(fs.readFileSync(functionConfPath(paths, 'f'), 'utf8'), 'command = old\n', 'the file is untouched');
});
