// A deploy is crash-safe: before its first change it writes an intent file (fsync'd, renamed into
// place), and removes it after its last. A command that touches units and finds the intent of a
// deploy whose process is gone (SIGKILL, power loss) finishes it or undoes it (docs/DESIGN.md
// "Crash-safe deploy"): the function is then either all there (file, code, units, socket enabled
// and listening) or as it was before. The commit point is the function's file: written whole or
// not at all (writeFileAtomic), so the intent records a digest of the text it is about to write.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Paths, functionCodeDir, functionConfPath } from '../core/paths';
import { readIfExists, writeFileAtomic, createFileExclusive } from '../core/fs-atomic';
import { fail } from '../core/errors';
import { processStart } from '../core/process-lock';
import { versionPath, versionsDir, switchVersion, dropVersion, currentCode } from './code-versions';
import { parseFunctionConfig } from './function-config';
import { pruneRecords, removeRecord } from './versions';
import { readCanaryRoute, removeCanaryFiles } from './canary-files';

export interface Intent {
  name: string;
  pid: number;
  start: string; // the process's start time (/proc/PID/stat field 22): a reused PID is not it
  version: string | null; // the code version it stages, or null: the current code stays
  config: string | null; // sha256 of the file it writes, once decided (null: not yet committed)
  record?: number; // the number of the version it records (versions.ts), once chosen
  canary?: true; // a canary's deploy (canary.ts): its commit point is its route file, not the function's
}

export const intentsDir = (paths: Paths) => path.join(paths.stateDir, 'deploying');
const intentPath = (paths: Paths, name: string) => path.join(intentsDir(paths), `${name}.json`);
export const digest = (text: string) => createHash('sha256').update(text).digest('hex');

// Whose process an intent names: a reused PID is not it (core/process-lock.ts).
export { processStart };

const write = (paths: Paths, intent: Intent) => writeFileAtomic(intentPath(paths, intent.name), JSON.stringify(intent) + '\n');

// Claims NAME for this deploy (or rollback): the intent is created only where none is, so two
// deploys of one function at once (two faassctl, or two API calls in one process) never both
// go on; they would pick the same version number and switch the link under each other. The
// later one is refused while the other lives; an intent whose process is gone (its recovery
// failed: the caller tried it first) is taken over, as one process alone can move it aside.
export function beginDeploy(paths: Paths, name: string, version: string | null, started: (pid: number) => string | null = processStart, canary = false): Intent {
  const intent: Intent = { name, pid: process.pid, start: processStart(process.pid) ?? '', version, config: null, ...(canary ? { canary: true as const } : {}) };
  const file = intentPath(paths, name);
  for (;;) {
    if (createFileExclusive(file, JSON.stringify(intent) + '\n')) return intent;
    const other = readIntent(file);
    if (other !== null && !gone(other, started)) fail('FAASS_E_DEPLOY_BUSY', `${name} is being deployed or rolled back by process ${other.pid}; try again when it ends`);
    const aside = `${file}.${process.pid}.gone`;
    try {
      fs.renameSync(file, aside);
      fs.rmSync(aside, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // another took it first: look again
    }
  }
}

// Just before the commit point: what the function's file will hold.
export function aboutToCommit(paths: Paths, intent: Intent, configText: string): void {
  intent.config = digest(configText);
  write(paths, intent);
}

// Before a new version's record is written: an undo then removes it (a number never made
// current is not shown).
export function aboutToRecord(paths: Paths, intent: Intent, n: number): void {
  intent.record = n;
  write(paths, intent);
}

// Removes the intent if it is still this one (a later deploy of the same name may have replaced it).
export function endDeploy(paths: Paths, intent: Intent): void {
  const now = readIntent(intentPath(paths, intent.name));
  if (now && now.pid === intent.pid && now.start === intent.start && now.version === intent.version) fs.rmSync(intentPath(paths, intent.name), { force: true });
}

// A deploy that failed past its commit point in a process that lives on (the API's) hands its
// intent to the next command: pid 0 is no process.
export function abandonDeploy(paths: Paths, intent: Intent): void {
  if (readIntent(intentPath(paths, intent.name))?.pid !== intent.pid) return;
  write(paths, { ...intent, pid: 0, start: '' });
}

function readIntent(file: string): Intent | null {
  const text = readIfExists(file);
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as Intent;
    return typeof v.name === 'string' && Number.isInteger(v.pid) ? v : null;
  } catch {
    return null; // torn it cannot be (written atomically); another program's file is not ours
  }
}

// Pure: finish (the function's file is the one the deploy wrote) or undo (it never got there).
export function decide(intent: Intent, configText: string | null): 'finish' | 'undo' {
  return intent.config !== null && configText !== null && digest(configText) === intent.config ? 'finish' : 'undo';
}

// Intents of deploys whose process is gone.
export function interruptedDeploys(paths: Paths, started: (pid: number) => string | null = processStart): Intent[] {
  let files: string[];
  try {
    files = fs.readdirSync(intentsDir(paths)).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.map((f) => readIntent(path.join(intentsDir(paths), f))).filter((i): i is Intent => i !== null && gone(i, started));
}

function gone(intent: Intent, started: (pid: number) => string | null): boolean {
  try {
    return started(intent.pid) !== intent.start;
  } catch {
    return false; // cannot tell whether it still runs: left alone
  }
}

// The file-level half of a recovery (the caller then applies units, enables and restarts the
// finished ones, and calls endDeploy): idempotent, so a recovery killed in turn is done again.
export function recoverFiles(paths: Paths, intent: Intent): 'finish' | 'undo' {
  if (intent.canary) return recoverCanaryFiles(paths, intent);
  const text = readIfExists(functionConfPath(paths, intent.name));
  const verdict = decide(intent, text);
  if (verdict === 'finish') {
    // The code the committed file names (a rollback stages none), else the one staged.
    const ref = versionOf(intent.name, text as string);
    const code = ref?.code ?? intent.version;
    if (code !== null && fs.existsSync(versionPath(paths, intent.name, code)) && currentCode(paths, intent.name) !== code) switchVersion(paths, intent.name, code, pruneRecords(paths, intent.name, ref?.number ?? null));
    return verdict;
  }
  undoFiles(paths, intent);
  return verdict;
}

// A canary's deploy is done once its route names its version (written last: the gateway sends it
// calls from then on). Short of that it is undone: its settings file (so no units are rendered for
// it, and the units step retires them), its record and its staged code. A route of another canary
// (one this deploy was refused beside) is left with its files.
function recoverCanaryFiles(paths: Paths, intent: Intent): 'finish' | 'undo' {
  const route = readCanaryRoute(paths, intent.name);
  if (route !== null && intent.record !== undefined && route.version === intent.record) return 'finish';
  if (route === null) removeCanaryFiles(paths, intent.name);
  undoFiles(paths, intent);
  return 'undo';
}

function versionOf(name: string, text: string): { number: number; code: string } | undefined {
  try {
    return parseFunctionConfig(name, text).version;
  } catch {
    return undefined; // the file it wrote: it parses; if not, the link is left as it is
  }
}

// Drops the code the deploy staged (unless it is the function's code now) and the version it
// recorded (unless the function's file names it); a first deploy undone leaves no directory behind.
export function undoFiles(paths: Paths, intent: Intent): void {
  const version = intent.version;
  if (version !== null && currentCode(paths, intent.name) !== version) {
    dropVersion(paths, intent.name, version);
    fs.rmSync(`${versionPath(paths, intent.name, version)}.tmp`, { recursive: true, force: true });
  }
  if (intent.record !== undefined) {
    const text = readIfExists(functionConfPath(paths, intent.name));
    if (text === null || versionOf(intent.name, text)?.number !== intent.record) removeRecord(paths, intent.name, intent.record);
  }
  if (!fs.existsSync(functionCodeDir(paths, intent.name))) fs.rmSync(versionsDir(paths, intent.name), { recursive: true, force: true });
}
