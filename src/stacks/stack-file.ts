// A stack file (OpenFaaS's stack.yml, docs/DESIGN.md "Stacks"): parsed with the yaml library,
// checked against its schema key by key, each refusal naming FILE:LINE:COL and the key's path
// (stack.yml:12:5: functions.hello.limits.memory: must be a size like 128Mi). ${VAR},
// ${VAR:-default} and $VAR are substituted in every value as faas-cli does, after parsing: a
// variable's value is never read as YAML, and line numbers stay those of the file.
// Pure but for `read` (environment_file), which the caller gives.
import * as path from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, Node, Scalar, YAMLMap } from 'yaml';
import { FaassError, fail } from '../core/errors';
import { isValidName } from '../core/validate';

export interface StackFunction {
  name: string;
  lang?: string;
  handler?: string; // a directory, relative to the stack file's
  image?: string;
  fprocess?: string;
  environment: Record<string, string>; // inline, then each environment_file over it
  secrets: string[];
  limits: { memory?: string; cpu?: string };
  faass: Record<string, string>; // x-faass: faass's own function keys
  where: Record<string, string>; // key (lang, limits.memory, x-faass.timeout ...) -> FILE:LINE:COL
}

export interface Stack {
  name: string; // stackName()
  file: string;
  dir: string; // handlers and environment files are relative to it
  functions: StackFunction[];
  ignored: string[]; // FILE:LINE:COL: KEY: why, one a key faass does not act on
}

export type Env = Record<string, string | undefined>;

// What faass reads without acting on it, and why (said on stderr at `up`, not an error).
const IGNORED_TOP: Record<string, string> = {
  version: '', // the format's version: nothing to do
  'provider.gateway': 'faassctl up deploys to this host',
  'provider.network': 'faass functions have networks of their own',
  'configuration.templates': 'faass runs handlers with its own node and python runtimes',
};
export const IGNORED_FN: Record<string, string> = {
  labels: 'faass keeps no labels',
  annotations: 'faass keeps no annotations',
  requests: 'faass reserves nothing; limits are honoured',
  build_args: 'faass builds no template image',
  build_options: 'faass builds no template image',
  build_secrets: 'faass builds no template image',
  platforms: 'faass builds for this host only',
  skip_build: 'faass builds no template image',
  constraints: 'one host: nothing to place',
  namespace: 'one host, one namespace',
  readonly_root_filesystem: "a faass function's system and code are read-only already",
};
const FN_KEYS = ['lang', 'handler', 'image', 'fprocess', 'environment', 'environment_file', 'secrets', 'limits', 'x-faass'];

function lineCol(lines: LineCounter, offset: number): string {
  const pos = lines.linePos(offset);
  return `${pos.line}:${pos.col}`;
}

class Doc {
  readonly lines = new LineCounter();
  constructor(readonly file: string) {}
  at(node: Node | null | undefined): string {
    return `${this.file}:${lineCol(this.lines, node?.range?.[0] ?? 0)}`;
  }
  fail(node: Node | null | undefined, key: string, why: string): never {
    return fail('FAASS_E_CONFIG_INVALID', `${this.at(node)}: ${key}: ${why}`);
  }
}

// ${VAR}, ${VAR:-default} (default when unset or empty), ${VAR-default} (when unset), $VAR; $$ is
// a $. An unset variable is empty, as envsubst makes it.
export function substitute(text: string, env: Env): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, name?: string, op?: string, def?: string, bare?: string) => {
    if (m === '$$') return '$';
    const v = env[name ?? bare ?? ''];
    if (op === ':-') return v ? v : (def ?? '');
    if (op === '-') return v !== undefined ? v : (def ?? '');
    return v ?? '';
  });
}

function parse(text: string, file: string): { doc: Doc; root: Node | null } {
  const doc = new Doc(file);
  const parsed = parseDocument(text, { lineCounter: doc.lines, prettyErrors: false, uniqueKeys: true });
  const e = parsed.errors[0];
  // linePos is filled only with prettyErrors (which puts the source text in the message): the
  // place is taken from the error's offset.
  if (e) fail('FAASS_E_CONFIG_INVALID', `${file}:${lineCol(doc.lines, e.pos[0])}: not YAML this reads: ${e.message.split('\n')[0]}`);
  return { doc, root: parsed.contents as Node | null };
}

// A value as the file writes it: faas-cli reads every value into a string, the text as written,
// where YAML's core schema would make 1.10 the number 1.1, 0755 755, 0x10 16 and a long numeric
// id a rounded float (an env value, a version, a token changed without a word).
function asWritten(node: Scalar): string {
  return typeof node.value !== 'string' && node.type === 'PLAIN' && typeof node.source === 'string' ? node.source : String(node.value);
}

// A map's entries as [key text, key node, value node].
function entries(doc: Doc, node: Node | null | undefined, key: string): [string, Node, Node | null][] {
  if (!isMap(node)) return doc.fail(node, key, 'expected a map of keys');
  return (node as YAMLMap).items.map((p) => {
    const k = p.key as Node;
    if (!isScalar(k)) doc.fail(k, key, 'expected plain keys');
    return [String(k.value), k, p.value as Node | null];
  });
}

function scalar(doc: Doc, node: Node | null, key: string, env: Env): string {
  if (!isScalar(node) || node.value === null || typeof node.value === 'object') return doc.fail(node, key, 'expected a single value');
  const v = substitute(asWritten(node), env);
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(v)) doc.fail(node, key, 'control characters and newlines are not allowed');
  return v;
}

function strings(doc: Doc, node: Node | null, key: string, env: Env): string[] {
  if (!isSeq(node)) return doc.fail(node, key, 'expected a list');
  return node.items.map((n, i) => scalar(doc, n as Node, `${key}[${i}]`, env));
}

function stringMap(doc: Doc, node: Node | null, key: string, env: Env, where?: Record<string, string>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, kn, v] of entries(doc, node, key)) {
    out[k] = scalar(doc, v, `${key}.${k}`, env);
    if (where) where[`${prefix}${k}`] = doc.at(kn);
  }
  return out;
}

// An environment_file: a YAML file with an `environment:` map (faas-cli's format).
function environmentFile(file: string, text: string, env: Env): Record<string, string> {
  const { doc, root } = parse(text, file);
  let found: Record<string, string> = {};
  for (const [k, kn, v] of entries(doc, root, '(top)')) {
    if (k !== 'environment') doc.fail(kn, k, 'unknown key: an environment file holds only environment:');
    found = stringMap(doc, v, 'environment', env);
  }
  return found;
}

function parseFunction(doc: Doc, name: string, node: Node | null, ctx: { env: Env; dir: string; read: (file: string) => string; ignored: string[] }): StackFunction {
  const key = `functions.${name}`;
  const fn: StackFunction = { name, environment: {}, secrets: [], limits: {}, faass: {}, where: { '': doc.at(node) } };
  let files: string[] = [];
  for (const [k, kn, v] of entries(doc, node, key)) {
    fn.where[k] = doc.at(kn);
    if (k in IGNORED_FN || (k.startsWith('x-') && k !== 'x-faass')) {
      ctx.ignored.push(`${doc.at(kn)}: ${key}.${k}: ignored (${IGNORED_FN[k] ?? 'an extension key faass does not read'})`);
      continue;
    }
    if (!FN_KEYS.includes(k)) doc.fail(kn, `${key}.${k}`, `unknown key; faass reads ${FN_KEYS.join(', ')} and ignores ${Object.keys(IGNORED_FN).join(', ')}`);
    if (k === 'lang' || k === 'handler' || k === 'image' || k === 'fprocess') fn[k] = scalar(doc, v, `${key}.${k}`, ctx.env);
    else if (k === 'environment') fn.environment = stringMap(doc, v, `${key}.environment`, ctx.env);
    else if (k === 'environment_file') files = strings(doc, v, `${key}.environment_file`, ctx.env);
    else if (k === 'secrets') fn.secrets = strings(doc, v, `${key}.secrets`, ctx.env);
    else if (k === 'x-faass') fn.faass = stringMap(doc, v, `${key}.x-faass`, ctx.env, fn.where, 'x-faass.');
    else if (k === 'limits') {
      for (const [lk, lkn, lv] of entries(doc, v, `${key}.limits`)) {
        if (lk !== 'memory' && lk !== 'cpu') doc.fail(lkn, `${key}.limits.${lk}`, 'unknown key; limits are memory and cpu');
        fn.limits[lk] = scalar(doc, lv, `${key}.limits.${lk}`, ctx.env);
        fn.where[`limits.${lk}`] = doc.at(lv);
      }
    }
  }
  // Each file over the inline values, a later file over an earlier (faas-cli's precedence).
  for (const f of files) Object.assign(fn.environment, environmentFile(f, readOrFail(doc, fn.where.environment_file, `${key}.environment_file`, path.resolve(ctx.dir, f), ctx.read), ctx.env));
  return fn;
}

function readOrFail(doc: Doc, at: string, key: string, file: string, read: (file: string) => string): string {
  try {
    return read(file);
  } catch (e) {
    if (e instanceof FaassError) return fail(e.code, `${at}: ${key}: ${e.message}`); // the reader's own line (core/bounded-read.ts)
    return fail('FAASS_E_FILE_MISSING', `${at}: ${key}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

// x-faass-stack, else the file's name without .yml; stack.yml, faas-cli's default that every
// project has, takes its directory's name: two projects' stack.yml are two stacks, and an up of
// one never deletes the other's functions.
export function stackName(file: string, given?: string): string {
  const base = path.basename(file).replace(/\.ya?ml$/, '');
  const name = given ?? (base === 'stack' ? path.basename(path.dirname(path.resolve(file))) : base);
  if (!isValidName(name)) fail('FAASS_E_CONFIG_INVALID', `${file}: stack name ${JSON.stringify(name.slice(0, 80))}: use 1-63 lowercase letters, digits and '-' (rename the file or set x-faass-stack:)`);
  return name;
}

// file: as the user named it (shown in errors); read: how to read a file (environment_file).
export function parseStack(text: string, file: string, env: Env, read: (file: string) => string): Stack {
  const { doc, root } = parse(text, file);
  const ctx = { env, dir: path.dirname(path.resolve(file)), read, ignored: [] as string[] };
  let given: string | undefined;
  let functions: StackFunction[] | null = null;
  const ignore = (kn: Node, k: string) => IGNORED_TOP[k] && ctx.ignored.push(`${doc.at(kn)}: ${k}: ignored (${IGNORED_TOP[k]})`);
  for (const [k, kn, v] of entries(doc, root, '(top)')) {
    if (k === 'version') continue;
    else if (k === 'x-faass-stack') given = scalar(doc, v, k, env);
    else if (k === 'functions') functions = entries(doc, v, k).map(([name, nn, fv]) => (isValidName(name) ? parseFunction(doc, name, fv, ctx) : doc.fail(nn, `functions.${name}`, "a function name is 1-63 lowercase letters, digits and '-'")));
    else if (k === 'provider') {
      for (const [pk, pkn, pv] of entries(doc, v, k)) {
        if (pk === 'name') {
          const p = scalar(doc, pv, 'provider.name', env);
          if (p !== 'openfaas' && p !== 'faas') doc.fail(pv, 'provider.name', `${JSON.stringify(p.slice(0, 40))}: expected openfaas`);
        } else if (`provider.${pk}` in IGNORED_TOP) ignore(pkn, `provider.${pk}`);
        else doc.fail(pkn, `provider.${pk}`, 'unknown key; provider has name, gateway and network');
      }
    } else if (k === 'configuration') {
      for (const [ck, ckn] of entries(doc, v, k)) {
        if (ck === 'templates') ignore(ckn, 'configuration.templates');
        else doc.fail(ckn, `configuration.${ck}`, ck === 'copy' ? 'not supported: faass deploys each handler directory as it is (put what it needs in it)' : 'unknown key');
      }
    } else if (k.startsWith('x-')) ctx.ignored.push(`${doc.at(kn)}: ${k}: ignored (an extension key faass does not read)`);
    else doc.fail(kn, k, 'unknown key; a stack file has version, provider, functions, configuration and x-faass-stack');
  }
  if (functions === null || functions.length === 0) fail('FAASS_E_CONFIG_INVALID', `${file}:1:1: functions: a stack file needs at least one function`);
  return { name: stackName(file, given), file, dir: ctx.dir, functions, ignored: ctx.ignored };
}
