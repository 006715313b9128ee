// A stack's bookkeeping (docs/DESIGN.md "Stacks"): its numbered versions (which function at
// which of its own versions), the current one, and the intent that makes an `up`, `down` or
// stack rollback all or nothing across its functions.
//
// Every function is first prepared with its own deploy intent (deploy-intent.ts: code staged,
// version recorded, file text decided, nothing committed). The stack's commit point is its intent
// file, written whole by rename, naming every function file it writes and every function it
// deletes. A command that finds the intent of a process that is gone finishes it (recoverStacks,
// before the per-function recovery, which then finds each file the one its intent names and
// finishes it too); with no stack intent, each prepared function's intent finds its file unwritten
// and is undone. So a killed `up` is finished or undone as a whole.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths, functionConfPath } from '../core/paths';
import { readIfExists, writeFileAtomic } from '../core/fs-atomic';
import { privateDir } from '../core/private-files';
import { processStart, digest } from './deploy-intent';
import { retireFunction } from './retire';
import type { Author } from './versions';

export interface StackRecord extends Author {
  number: number;
  time: string;
  message: string;
  functions: Record<string, number>; // function -> its version number
}

export type StackOp = 'up' | 'down' | 'rollback';

export interface StackIntent {
  stack: string;
  op: StackOp; // what it finishes: said by the command that finishes it; a down forgets the stack
  pid: number;
  start: string;
  files: { name: string; text: string }[]; // function files to write (they hold env: 0600)
  delete: string[];
  record: StackRecord | null; // a new stack version to write, or null (a rollback)
  current: number; // the stack version current once done
}

const stacksDir = (paths: Paths) => path.join(paths.dataDir, 'stacks');
const recordsDir = (paths: Paths, stack: string) => path.join(stacksDir(paths), stack);
const recordPath = (paths: Paths, stack: string, n: number) => path.join(recordsDir(paths, stack), `${n}.json`);
const currentPath = (paths: Paths, stack: string) => path.join(recordsDir(paths, stack), 'current');
const intentsDir = (paths: Paths) => path.join(paths.stateDir, 'stacks-deploying');
const intentPath = (paths: Paths, stack: string) => path.join(intentsDir(paths), `${stack}.json`);

export function listStackRecords(paths: Paths, stack: string): StackRecord[] {
  let files: string[];
  try {
    files = fs.readdirSync(recordsDir(paths, stack));
  } catch {
    return [];
  }
  return files
    .filter((f) => /^[1-9]\d{0,15}\.json$/.test(f))
    .flatMap((f) => {
      try {
        return [JSON.parse(fs.readFileSync(path.join(recordsDir(paths, stack), f), 'utf8')) as StackRecord];
      } catch {
        return []; // written atomically; a file that is not ours is no version
      }
    })
    .sort((a, b) => a.number - b.number);
}

export function currentStackVersion(paths: Paths, stack: string): number | null {
  const text = readIfExists(currentPath(paths, stack));
  return text !== null && /^\d+\n?$/.test(text) ? Number(text) : null;
}

export function currentStackRecord(paths: Paths, stack: string): StackRecord | null {
  const n = currentStackVersion(paths, stack);
  return listStackRecords(paths, stack).find((r) => r.number === n) ?? null;
}

// The stack a function belongs to: of the stacks whose current version lists it, the one that
// changed last (its `current` written last, by an up or a stack rollback: another stack's up that
// names it takes it over; a deploy by hand does not change whose it is); null when none lists it
// (deployed by hand only). An up, a down and a stack rollback touch only their own stack's
// functions: a function of the same name that is the user's, or another project's, is never
// deleted or rolled back by this one.
export function stackOwner(paths: Paths, name: string): string | null {
  let stacks: string[];
  try {
    stacks = fs.readdirSync(stacksDir(paths));
  } catch {
    return null;
  }
  let owner: { stack: string; when: number } | null = null;
  for (const stack of stacks.sort()) {
    const r = currentStackRecord(paths, stack);
    const when = fs.statSync(currentPath(paths, stack), { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (r && name in r.functions && (owner === null || when > owner.when)) owner = { stack, when };
  }
  return owner?.stack ?? null;
}

export const ownedBy = (paths: Paths, stack: string, names: Iterable<string>): string[] => [...names].filter((n) => stackOwner(paths, n) === stack);

// The commit point of an up, a down or a rollback.
export function commitStack(paths: Paths, intent: Omit<StackIntent, 'pid' | 'start'>): StackIntent {
  const full: StackIntent = { ...intent, pid: process.pid, start: processStart(process.pid) ?? '' };
  privateDir(paths, intentsDir(paths));
  writeFileAtomic(intentPath(paths, intent.stack), JSON.stringify(full) + '\n');
  return full;
}

// A failure past the commit point in a process that lives on: the next command finishes it.
export function abandonStack(paths: Paths, intent: StackIntent): void {
  writeFileAtomic(intentPath(paths, intent.stack), JSON.stringify({ ...intent, pid: 0, start: '' }) + '\n');
}

// Every function file the intent holds, written where it is not already (idempotent).
export function writeStackFiles(paths: Paths, intent: StackIntent): void {
  for (const f of intent.files) {
    if (digest(readIfExists(functionConfPath(paths, f.name)) ?? '') === digest(f.text)) continue;
    privateDir(paths, path.dirname(functionConfPath(paths, f.name)));
    writeFileAtomic(functionConfPath(paths, f.name), f.text);
  }
}

// The file-level finish, idempotent (a recovery killed in turn is done again): every function
// file written, the deleted functions retired, the stack's version and current pointer written,
// the intent removed. The caller applies the units and ends the functions' own intents.
export async function finishStackFiles(paths: Paths, intent: StackIntent): Promise<string[]> {
  writeStackFiles(paths, intent);
  const warnings: string[] = [];
  for (const name of intent.delete) warnings.push(...(await retireFunction(paths, name)));
  if (intent.op === 'down') forgetStack(paths, intent.stack); // no function left: no versions
  else {
    privateDir(paths, recordsDir(paths, intent.stack));
    if (intent.record) writeFileAtomic(recordPath(paths, intent.stack, intent.record.number), JSON.stringify(intent.record) + '\n');
    writeFileAtomic(currentPath(paths, intent.stack), `${intent.current}\n`);
  }
  fs.rmSync(intentPath(paths, intent.stack), { force: true });
  return warnings;
}

// The intents of stack changes killed past their commit point (their process is gone).
export function interruptedStacks(paths: Paths): StackIntent[] {
  let files: string[];
  try {
    files = fs.readdirSync(intentsDir(paths)).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.flatMap((f) => {
    let intent: StackIntent;
    try {
      intent = JSON.parse(fs.readFileSync(path.join(intentsDir(paths), f), 'utf8')) as StackIntent;
    } catch {
      return []; // written atomically: not torn; another program's file is not ours
    }
    try {
      return intent.pid !== 0 && processStart(intent.pid) === intent.start ? [] : [intent];
    } catch {
      return []; // cannot tell whether it still runs: left alone
    }
  });
}

// Stacks whose up, down or rollback was killed past its commit point: finished (file level).
export async function recoverStacks(paths: Paths): Promise<{ stack: string; op: StackOp }[]> {
  const done: { stack: string; op: StackOp }[] = [];
  for (const intent of interruptedStacks(paths)) {
    await finishStackFiles(paths, intent);
    done.push({ stack: intent.stack, op: intent.op ?? 'up' }); // an intent of a faass before op: its up
  }
  return done;
}

// Removes a stack's bookkeeping once it has no function left (down).
export function forgetStack(paths: Paths, stack: string): void {
  fs.rmSync(recordsDir(paths, stack), { recursive: true, force: true });
}
