// What a function's queue holds now, read from the spool's directory listings alone (no file is
// opened, so a scrape of /metrics or faassctl status stays cheap with 10,000 calls queued): the
// calls waiting, when the oldest of them was queued (the stamp in its name: a redriven call
// keeps its first enqueue time), and the dead letters. Nothing resident keeps these figures.
import * as fs from 'node:fs';
import { Paths } from '../core/paths';
import { isValidName } from '../core/validate';
import { deadLetters, functionQueue, isEntry, queueRoot } from './spool';

export interface QueueFigures {
  queued: number;
  oldestAt: number | null; // ms since the epoch; null with nothing queued
  dead: number;
}

export const NO_QUEUE: QueueFigures = Object.freeze({ queued: 0, oldestAt: null, dead: 0 });

// From the names in the queue's directory and in its dead/ (pure). Only call files count: states,
// temporary files, .corrupt files set aside and the done/ and keys/ directories do not.
export function figuresOf(queueFiles: string[], deadFiles: string[]): QueueFigures {
  const calls = queueFiles.filter(isEntry);
  const oldest = calls.reduce((min, f) => Math.min(min, Number(f.slice(0, 13))), Infinity);
  return { queued: calls.length, oldestAt: calls.length ? oldest : null, dead: deadFiles.filter(isEntry).length };
}

async function list(dir: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
}

export async function queueFigures(p: Paths, name: string): Promise<QueueFigures> {
  return figuresOf(await list(functionQueue(p, name)), await list(deadLetters(p, name)));
}

// Every queue there is (a function deleted keeps none), by function name.
export async function allQueueFigures(p: Paths, keep: (name: string) => boolean = () => true): Promise<Map<string, QueueFigures>> {
  const out = new Map<string, QueueFigures>();
  for (const name of (await list(queueRoot(p))).filter((n) => isValidName(n) && keep(n)).sort()) out.set(name, await queueFigures(p, name));
  return out;
}
