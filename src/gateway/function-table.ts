// What the gateway knows of each function: its kind and who may call it, read from its file and
// re-read only when the file changes (a stat per request, no parse).
import * as fs from 'node:fs';
import { Paths, functionConfPath } from '../core/paths';
import { Kind, parseFunctionConfig } from '../functions/function-config';
import { FaassError, brokenFile } from '../core/errors';
import { log } from '../observe/log';

export interface FunctionEntry {
  kind: Kind;
  auth: readonly string[]; // credentials that may call it; empty: public
  passAuthorization: boolean;
  queueMax: number; // asynchronous calls that may wait
  version: number | null; // the current version's number (its file's [version]), for the canary's abort line
  broken: FaassError | null; // its file does not parse: 503 with the reason for every caller
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
    return { kind: cfg.kind, auth: cfg.auth, passAuthorization: cfg.passAuthorization, queueMax: cfg.queueMax, version: cfg.version?.number ?? null, broken: null };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // An invalid file: who may call it is unknown, so nobody is let through. Callers get the
    // file and what is wrong (FAASS_E_CONFIG_BROKEN names keys, never a value of [env]); the
    // other functions are not affected.
    const broken = brokenFile(file, e);
    log.err(`Function ${name}: ${broken.message}`);
    return { kind: 'function', auth: [], passAuthorization: false, queueMax: 0, version: null, broken };
  }
}
