// What the gateway knows of each function: its kind and who may call it, read from its file and
// re-read only when the file changes (a stat per request, no parse).
import * as fs from 'node:fs';
import { Paths, functionConfPath } from '../core/paths';
import { Kind, parseFunctionConfig } from '../functions/function-config';
import { log, errorMessage } from '../observe/log';

export interface FunctionEntry {
  kind: Kind;
  auth: readonly string[]; // credentials that may call it; empty: public
  passAuthorization: boolean;
  invalid: boolean; // its file does not parse: 502 for every caller
}

export class FunctionTable {
  private readonly entries = new Map<string, { file: string; mtimeMs: number; entry: FunctionEntry }>();

  constructor(private readonly paths: Paths) {}

  // null when there is no such function.
  lookup(name: string): FunctionEntry | null {
    const known = this.entries.get(name);
    const file = known?.file ?? functionConfPath(this.paths, name);
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (!st) return null;
    if (known && known.mtimeMs === st.mtimeMs) return known.entry;
    const entry = read(name, file);
    if (!entry) return null;
    this.entries.set(name, { file, mtimeMs: st.mtimeMs, entry });
    return entry;
  }
}

function read(name: string, file: string): FunctionEntry | null {
  try {
    const cfg = parseFunctionConfig(name, fs.readFileSync(file, 'utf8'));
    return { kind: cfg.kind, auth: cfg.auth, passAuthorization: cfg.passAuthorization, invalid: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // An invalid file: who may call it is unknown, so nobody is let through; the reason goes
    // to the journal, not to the caller.
    log.err(`Function ${name}: ${errorMessage(e)}`);
    return { kind: 'function', auth: [], passAuthorization: false, invalid: true };
  }
}
