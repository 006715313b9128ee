// faassctl up --gateway's one upload (POST /system/stack/NAME/up, faass-gateway(8)): a tar.gz
// holding stack.json (the manifest) and fn/NAME/ (each function's code: its handler directory,
// or fn/NAME/FILE for a single file). The client reads, checks and maps the stack file (its
// ${VAR}s and environment_files are the client's); the server trusts none of it: the manifest is
// checked here (pure: checkManifest), the tree against it after unpacking (checkCodeTree), and
// every function's settings again by the deploy itself (function-config.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FaassError } from '../core/errors';
import { isValidName } from '../core/validate';
import { FUNCTION_KEYS, FunctionInput } from '../functions/function-config';
import { checkMessage } from '../functions/versions';

export const MANIFEST = 'stack.json';
export const CODE_DIR = 'fn';
const MAX_MANIFEST = 1024 * 1024;

export interface ManifestFunction {
  name: string;
  input: FunctionInput;
  code?: string; // fn/NAME (a directory) or fn/NAME/FILE, inside the archive
}
export interface Manifest {
  functions: ManifestFunction[];
  filter?: string[];
  message?: string;
  dryRun: boolean;
}

const bad = (message: string) => new FaassError('FAASS_E_UPLOAD_INVALID', `${MANIFEST}: ${message}`);
const quoted = (v: unknown) => JSON.stringify(String(v).slice(0, 80));

function objectOf(v: unknown, what: string, known: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what}: expected a JSON object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!known.includes(k)) throw bad(`${what}: unknown field ${quoted(k)}; known fields: ${known.join(', ')}`);
  return o;
}

// A function's settings: the function file's keys, scalars only (no key reaches a unit file but
// through the file's own validation), env an object of strings; a build context inside the
// function's code only, never a host path (as inputFromJson for a deploy).
function checkInput(v: unknown, where: string): FunctionInput {
  const o = objectOf(v, `${where}.input`, [...FUNCTION_KEYS, 'env']);
  const input: FunctionInput = {};
  for (const [k, x] of Object.entries(o)) {
    if (x === null || x === undefined) continue;
    if (k === 'env') {
      const env = objectOf(x, `${where}.input.env`, Object.keys(x as object));
      for (const [e, s] of Object.entries(env)) if (typeof s !== 'string') throw bad(`${where}.input.env.${e.slice(0, 40)}: expected a string`);
      input.env = env;
    } else if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') (input as Record<string, unknown>)[k] = typeof x === 'number' ? String(x) : x;
    else throw bad(`${where}.input.${k}: expected a string, number or boolean`);
  }
  if (typeof input.build === 'string' && (input.build.startsWith('/') || input.build.split('/').includes('..'))) throw bad(`${where}.input.build: a directory inside the function's code (such as .), not a host path`);
  return input;
}

// Where a function's code is in the archive: fn/NAME, or fn/NAME/FILE with a plain file name.
function checkCode(v: unknown, name: string, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  const dir = `${CODE_DIR}/${name}`;
  if (typeof v !== 'string' || !(v === dir || (v.startsWith(dir + '/') && /^[\w.+-]{1,255}$/.test(v.slice(dir.length + 1)) && !/^\.\.?$/.test(v.slice(dir.length + 1))))) throw bad(`${where}.code: expected ${quoted(dir)} or ${quoted(dir + '/FILE')}`);
  return v;
}

export function checkManifest(v: unknown): Manifest {
  const o = objectOf(v, 'the manifest', ['functions', 'filter', 'message', 'dry_run']);
  if (!Array.isArray(o.functions) || o.functions.length === 0) throw bad('functions: expected a list of at least one {"name", "input", "code"}');
  const seen = new Set<string>();
  const functions = o.functions.map((f, i): ManifestFunction => {
    const fo = objectOf(f, `functions[${i}]`, ['name', 'input', 'code']);
    if (typeof fo.name !== 'string' || !isValidName(fo.name)) throw bad(`functions[${i}].name: ${quoted(fo.name)} is not a valid function name`);
    if (seen.has(fo.name)) throw bad(`functions[${i}].name: ${fo.name} is named twice`);
    seen.add(fo.name);
    const where = `functions.${fo.name}`;
    const code = checkCode(fo.code, fo.name, where);
    const input = checkInput(fo.input ?? {}, where);
    // What runs its own code (a handler, a build, a file) cannot be deployed without it.
    if (code === undefined && (input.runtime === 'node' || input.runtime === 'python' || input.build !== undefined || input.file !== undefined)) throw bad(`${where}: no code: its settings run a handler or build an image (code: ${quoted(`${CODE_DIR}/${fo.name}`)} and that directory in the archive)`);
    return { name: fo.name, input, ...(code !== undefined ? { code } : {}) };
  });
  let filter: string[] | undefined;
  if (o.filter !== undefined && o.filter !== null) {
    if (!Array.isArray(o.filter) || !o.filter.every((n) => typeof n === 'string')) throw bad('filter: expected a list of function names');
    // A name the manifest lacks is refused by upStack, as a local up's --filter is.
    filter = o.filter as string[];
  }
  let message: string | undefined;
  if (o.message !== undefined && o.message !== null) message = checkMessage(o.message);
  if (o.dry_run !== undefined && typeof o.dry_run !== 'boolean') throw bad('dry_run: expected true or false');
  return { functions, ...(filter ? { filter } : {}), ...(message !== undefined ? { message } : {}), dryRun: o.dry_run === true };
}

// The unpacked archive against its manifest: stack.json a plain file, each function's code
// there (a directory, or the file it names), and nothing else (code no function claims would be
// a client's mistake: a misspelt name, a stale directory). Returns the manifest.
export function checkCodeTree(dir: string): Manifest {
  const top = fs.readdirSync(dir);
  for (const e of top) if (e !== MANIFEST && e !== CODE_DIR) throw new FaassError('FAASS_E_UPLOAD_INVALID', `The archive holds ${quoted(e)}; only ${MANIFEST} and ${CODE_DIR}/NAME/ belong in a stack upload`);
  const mf = path.join(dir, MANIFEST);
  const st = fs.lstatSync(mf, { throwIfNoEntry: false });
  if (!st?.isFile()) throw new FaassError('FAASS_E_UPLOAD_INVALID', `The archive has no ${MANIFEST} (the manifest: which function, its settings, where its code is)`);
  if (st.size > MAX_MANIFEST) throw bad(`${st.size} bytes, at most ${MAX_MANIFEST}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(mf, 'utf8'));
  } catch {
    throw bad('not valid JSON');
  }
  const m = checkManifest(parsed);
  const codeRoot = path.join(dir, CODE_DIR);
  const shipped = fs.existsSync(codeRoot) && fs.lstatSync(codeRoot).isDirectory() ? fs.readdirSync(codeRoot) : [];
  for (const f of m.functions) {
    if (f.code === undefined) continue;
    const wantDir = f.code === `${CODE_DIR}/${f.name}`;
    const s = fs.lstatSync(path.join(dir, f.code), { throwIfNoEntry: false });
    if (!s || (wantDir ? !s.isDirectory() : !s.isFile())) throw bad(`functions.${f.name}.code: the archive has no ${wantDir ? 'directory' : 'file'} ${f.code}`);
    if (!wantDir && fs.readdirSync(path.join(dir, CODE_DIR, f.name)).length !== 1) throw bad(`functions.${f.name}.code: ${CODE_DIR}/${f.name}/ holds more than the file ${f.code} names`);
  }
  for (const e of shipped) if (!m.functions.some((f) => f.code !== undefined && f.name === e)) throw bad(`${CODE_DIR}/${e.slice(0, 80)}: code for no function of the manifest`);
  return m;
}
