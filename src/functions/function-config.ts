import * as fs from 'node:fs';
import * as ini from 'ini';
import { fail, brokenFile } from '../core/errors';
import { Paths, functionConfPath } from '../core/paths';
import { validateName, isValidName, invalidName, plainString, number, size, oneOf, boolean, timespan } from '../core/validate';
import { shareProblem } from '../docker/container-spec';

export const RUNTIMES = ['exec', 'node', 'python', 'docker'] as const;
export type Runtime = (typeof RUNTIMES)[number];
export const PROTOCOLS = ['raw', 'framed'] as const;
export const NETWORKS = ['none', 'host', 'bridge'] as const;
export const KINDS = ['function', 'service'] as const;
export type Kind = (typeof KINDS)[number];
export type Network = (typeof NETWORKS)[number];
export type Protocol = (typeof PROTOCOLS)[number];
// How a node or python handler is called (faass-handler(7)): faass's own (event, context), or as
// an OpenFaaS template calls it, so a handler written for one runs unchanged (faassctl up maps
// a stack.yml's lang to it, stacks/openfaas.ts).
export const CONVENTIONS = ['faass', 'openfaas-http', 'openfaas-classic'] as const;
export type Convention = (typeof CONVENTIONS)[number];

export interface FunctionConfig {
  readonly name: string;
  readonly kind: Kind; // function: a call per request; service: a long-running HTTP app
  readonly runtime: Runtime;
  readonly port?: number; // service: the app's port on 127.0.0.1
  readonly health?: string; // service: a path that answers 2xx/3xx once the app is ready
  readonly readyTimeout: number; // service: seconds the app may take to get ready
  readonly command?: string; // exec: command line, run in the code directory; docker: inside the container
  readonly image?: string; // docker: a local image
  readonly build?: string; // docker: build context, absolute or inside the code directory (faassctl build)
  readonly network: Network; // a function's container: its network; a service: none (its own, the default) or host, or bridge for a container
  readonly file?: string; // file inside the code directory (script or handler module)
  readonly handler?: string; // node: export name; python: function name
  readonly convention: Convention; // node, python: how the handler is called
  readonly protocol: Protocol;
  readonly timeout: number; // seconds a request may run
  readonly idle: number; // seconds without connections before the runner exits
  readonly maxInflight: number;
  readonly workers: number; // warm interpreter processes (node, python)
  readonly maxOutput: number; // bytes
  readonly contentType?: string;
  readonly memoryMax?: string;
  readonly tasksMax?: number;
  readonly cpuQuota?: number; // percent of one CPU
  readonly scratchMax: number; // bytes: the size of each of its own /tmp, /var/tmp and /dev/shm
  readonly auth: readonly string[]; // credentials that may call it (admins always may); empty: public
  readonly passAuthorization: boolean; // forward the caller's Authorization header to the function
  // Secrets it is given (functions/secrets.ts), by name only: their values are in the secret
  // store, handed to its runner by its unit's LoadCredential= (units.ts functionCredentials).
  readonly secrets: readonly string[];
  // Asynchronous calls (queue/): attempts after the first, how old a call may get, how many wait.
  readonly retries: number;
  readonly retryMaxAge: number; // seconds
  readonly queueMax: number;
  readonly env: Readonly<Record<string, string>>;
  // The version this file is (functions/versions.ts): its number and its code directory. Written
  // by a deploy or a rollback with the settings, in the same file, so the commit point moves
  // both; absent in files from before versions (the code is then the symlink's).
  readonly version?: VersionRef;
}

export interface VersionRef {
  readonly number: number;
  readonly code: string; // the code directory's id (code-versions.ts)
}

export const FUNCTION_DEFAULTS = {
  protocol: 'raw' as Protocol,
  timeout: 30,
  idle: 10,
  maxInflight: 100,
  workers: 4,
  maxOutput: 10 * 1024 * 1024,
  scratchMax: 64 * 1024 * 1024,
  retries: 2,
  retryMaxAge: 6 * 3600,
  queueMax: 10000,
};

// INI key -> field; the schema a function file may contain, nothing else.
export const FUNCTION_KEYS = ['kind', 'port', 'health', 'ready_timeout', 'runtime', 'command', 'image', 'build', 'network', 'file', 'handler', 'convention', 'protocol', 'timeout', 'idle', 'max_inflight', 'workers', 'max_output', 'content_type', 'memory_max', 'tasks_max', 'cpu_quota', 'scratch_max', 'auth', 'pass_authorization', 'secrets', 'retries', 'retry_max_age', 'queue_max'] as const;
const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FILE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
// docker's reference grammar, loosely: [registry[:port]/]path[:tag][@digest].
export const IMAGE_RE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export type FunctionInput = Partial<Record<(typeof FUNCTION_KEYS)[number], unknown>> & { env?: Record<string, unknown> };

// A plain string that must match a pattern, refused with what was expected.
const matching = (re: RegExp, expected: string) => (k: string, v: unknown): string => {
  const s = plainString(k, v);
  if (!re.test(s)) fail('FAASS_E_CONFIG_INVALID', `Invalid ${k} ${JSON.stringify(s.slice(0, 80))}: ${expected}`);
  return s;
};

const buildContext = (k: string, v: unknown): string => {
  const s = plainString(k, v);
  if (s.split('/').includes('..')) fail('FAASS_E_CONFIG_INVALID', `Invalid build ${JSON.stringify(s.slice(0, 80))}: expected an absolute directory, or one inside the function's code such as . (no ..)`);
  return s;
};

// A list of names (auth: credentials, secrets: secrets), separated by commas; sorted, each once.
const namesOf = (what: 'credential' | 'secret') => (k: string, v: unknown): readonly string[] => {
  const names = plainString(k, v, { allowEmpty: true }).split(',').map((n) => n.trim()).filter(Boolean);
  // The name rule's own words (validate.ts), under this key's code.
  for (const n of names) if (!isValidName(n)) fail('FAASS_E_CONFIG_INVALID', `${k}: ${invalidName(n, what).message}; names are separated by commas`);
  return Object.freeze([...new Set(names)].sort());
};

// One parser per key but runtime (parsed first: the rules between keys depend on it). The only
// place a key's type and range are decided.
const PARSERS = {
  kind: (k: string, v: unknown) => oneOf(k, v, KINDS),
  port: (k: string, v: unknown) => number(k, v, 1, 65535, { integer: true }),
  health: matching(/^\/[\x21-\x7e]*$/, 'expected a path starting with /'),
  ready_timeout: (k: string, v: unknown) => timespan(k, v, 0.1, 3600),
  command: (k: string, v: unknown) => plainString(k, v),
  image: matching(IMAGE_RE, 'expected a docker image reference such as busybox:latest'),
  build: buildContext,
  network: (k: string, v: unknown) => oneOf(k, v, NETWORKS),
  file: matching(FILE_RE, "a plain file name inside the function's code directory"),
  handler: matching(/^[A-Za-z_$][A-Za-z0-9_$]*$/, 'expected an identifier'),
  convention: (k: string, v: unknown) => oneOf(k, v, CONVENTIONS),
  protocol: (k: string, v: unknown) => oneOf(k, v, PROTOCOLS),
  timeout: (k: string, v: unknown) => timespan(k, v, 0.1, 86400),
  idle: (k: string, v: unknown) => timespan(k, v, 1, 86400),
  max_inflight: (k: string, v: unknown) => number(k, v, 1, 100000, { integer: true }),
  workers: (k: string, v: unknown) => number(k, v, 1, 256, { integer: true }),
  max_output: (k: string, v: unknown) => size(k, v, 1, 1024 ** 3),
  content_type: matching(/^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+-]+)*$/, 'expected a media type such as text/plain'),
  memory_max: (k: string, v: unknown) => String(size(k, v, 1024 * 1024, 1024 ** 4)),
  tasks_max: (k: string, v: unknown) => number(k, v, 1, 1000000, { integer: true }),
  cpu_quota: (k: string, v: unknown) => number(k, v, 1, 100000, { integer: true }),
  scratch_max: (k: string, v: unknown) => size(k, v, 1024 * 1024, 1024 ** 4),
  auth: namesOf('credential'),
  pass_authorization: (k: string, v: unknown) => boolean(k, v),
  secrets: namesOf('secret'),
  retries: (k: string, v: unknown) => number(k, v, 0, 20, { integer: true }),
  retry_max_age: (k: string, v: unknown) => timespan(k, v, 1, 30 * 86400),
  queue_max: (k: string, v: unknown) => number(k, v, 1, 1000000, { integer: true }),
};
type Parsed = { [K in keyof typeof PARSERS]?: ReturnType<(typeof PARSERS)[K]> };

function parseRuntime(name: string, raw: unknown): Runtime {
  if (raw === undefined) fail('FAASS_E_CONFIG_INVALID', `Function ${name}: runtime is required (${RUNTIMES.join(', ')})`);
  const text = plainString('runtime', raw);
  if (!(RUNTIMES as readonly string[]).includes(text)) fail('FAASS_E_RUNTIME_UNKNOWN', `Unknown runtime ${JSON.stringify(text)}: expected one of ${RUNTIMES.join(', ')}`);
  return text as Runtime;
}

function parseKeys(name: string, raw: FunctionInput): Parsed {
  for (const k of Object.keys(raw)) {
    if (k !== 'env' && !(FUNCTION_KEYS as readonly string[]).includes(k)) fail('FAASS_E_CONFIG_INVALID', `Unknown key ${JSON.stringify(k)} in function ${name}; known keys: ${FUNCTION_KEYS.join(', ')}`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, parse] of Object.entries(PARSERS)) if (raw[k as keyof FunctionInput] !== undefined) out[k] = (parse as (k: string, v: unknown) => unknown)(k, raw[k as keyof FunctionInput]);
  return out as Parsed;
}

// Which keys go with which runtime.
function checkRuntime(name: string, runtime: Runtime, v: Parsed): void {
  const refuse = (why: string) => fail('FAASS_E_CONFIG_INVALID', `Function ${name}: ${why}`);
  if (v.build !== undefined && runtime !== 'docker') refuse('build is only for runtime docker');
  if (runtime === 'exec' && v.command === undefined && v.file === undefined) refuse('runtime exec needs a command or a file');
  if ((runtime === 'node' || runtime === 'python') && v.file === undefined) refuse(`runtime ${runtime} needs a handler file: a single file, a directory holding ${runtime === 'node' ? 'handler.js or index.js' : 'handler.py'}, or --handler FILE.NAME`);
  if ((runtime === 'node' || runtime === 'python') && v.command !== undefined) refuse('command is only for runtimes exec and docker');
  if (runtime === 'docker' && v.image === undefined) refuse('runtime docker needs an image');
  if (runtime !== 'docker' && v.image !== undefined) refuse('image is only for runtime docker');
  if (runtime !== 'docker' && v.network !== undefined && v.kind !== 'service') refuse('network is only for runtime docker and for services');
  if (runtime === 'docker' && v.file !== undefined) refuse('runtime docker takes its code from the image, not a file');
  if (runtime !== 'node' && runtime !== 'python' && v.convention !== undefined && v.convention !== 'faass') refuse('convention is only for runtimes node and python');
}

// Which keys go with which kind.
function checkKind(name: string, kind: Kind, runtime: Runtime, v: Parsed): void {
  if (kind === 'service') {
    const refuse = (why: string) => fail('FAASS_E_CONFIG_INVALID', `Service ${name}: ${why}`);
    if (v.port === undefined) refuse("port is required (the app's port on 127.0.0.1)");
    if (runtime !== 'exec' && runtime !== 'docker') refuse('runtime must be exec (a command) or docker (an image)');
    if (runtime === 'exec' && v.command === undefined) refuse('runtime exec needs a command that serves HTTP on the port');
    if (runtime !== 'docker' && v.network === 'bridge') refuse('network bridge is only for containers; a process app has none (a network of its own, reached only through faass) or host');
  } else if (v.port !== undefined || v.health !== undefined || v.ready_timeout !== undefined) fail('FAASS_E_CONFIG_INVALID', `Function ${name}: port, health and ready_timeout are only for kind=service`);
}

function parseEnv(raw: Record<string, unknown> = {}): Readonly<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!ENV_KEY_RE.test(k)) fail('FAASS_E_CONFIG_INVALID', `Invalid environment variable name ${JSON.stringify(k)}`);
    env[k] = plainString(`env ${k}`, v, { allowEmpty: true });
  }
  return Object.freeze(env);
}

// Validates raw values (from INI or from the command line) into a frozen config.
export function buildFunctionConfig(name: string, raw: FunctionInput): FunctionConfig {
  validateName(name);
  const runtime = parseRuntime(name, raw.runtime);
  const v = parseKeys(name, raw);
  checkRuntime(name, runtime, v);
  const kind = v.kind ?? 'function';
  checkKind(name, kind, runtime, v);
  const d = FUNCTION_DEFAULTS;
  const cfg: FunctionConfig = Object.freeze({
    name,
    kind,
    runtime,
    port: v.port,
    health: v.health,
    readyTimeout: v.ready_timeout ?? 30,
    command: v.command,
    image: v.image,
    build: v.build,
    // A service gets a network of its own unless it asks for the host's (or a bridge): reached
    // only through faass, so --auth holds (units.ts reachedThroughSocket). A function's container: none.
    network: v.network ?? 'none',
    file: v.file,
    handler: v.handler,
    convention: v.convention ?? 'faass',
    protocol: v.protocol ?? d.protocol,
    timeout: v.timeout ?? d.timeout,
    idle: v.idle ?? d.idle,
    maxInflight: v.max_inflight ?? d.maxInflight,
    workers: v.workers ?? d.workers,
    maxOutput: v.max_output ?? d.maxOutput,
    contentType: v.content_type,
    memoryMax: v.memory_max,
    tasksMax: v.tasks_max,
    cpuQuota: v.cpu_quota,
    scratchMax: v.scratch_max ?? d.scratchMax,
    auth: v.auth ?? Object.freeze([]),
    passAuthorization: v.pass_authorization ?? false,
    secrets: v.secrets ?? Object.freeze([]),
    retries: v.retries ?? d.retries,
    retryMaxAge: v.retry_max_age ?? d.retryMaxAge,
    queueMax: v.queue_max ?? d.queueMax,
    env: parseEnv(raw.env),
  });
  // A container function's limits are shared among its containers (container-spec.ts).
  const unshareable = shareProblem(cfg);
  if (unshareable) fail('FAASS_E_CONFIG_INVALID', `Function ${name}: ${unshareable}`);
  return cfg;
}

export function parseFunctionConfig(name: string, text: string): FunctionConfig {
  // A key with no '=' reads as true in ini, as does key=true: told apart here, on the text.
  const bare = text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !/^[#;[]/.test(l) && !l.includes('='));
  if (bare !== undefined) fail('FAASS_E_CONFIG_INVALID', `Invalid ${bare.slice(0, 40)}: expected a value (KEY=VALUE) in function ${name}`);
  const doc = ini.parse(text) as Record<string, unknown>;
  const known = ['function', 'env', 'version'];
  for (const k of Object.keys(doc)) {
    if (!known.includes(k)) fail('FAASS_E_CONFIG_INVALID', `Unexpected ${typeof doc[k] === 'object' ? 'section [' + k + ']' : 'key ' + JSON.stringify(k) + ' outside a section'} in function ${name}; expected [function], [env] and [version]`);
  }
  const fn = asWritten((doc.function ?? {}) as Record<string, unknown>);
  const cfg = buildFunctionConfig(name, { ...fn, env: asWritten((doc.env ?? {}) as Record<string, unknown>) });
  return doc.version === undefined ? cfg : Object.freeze({ ...cfg, version: parseVersionRef(name, doc.version) });
}

// ini reads an unquoted true, false or null as a boolean or null, and writes them back bare: a
// value such as --env DEBUG=true or --command true is the text written (every key that means
// yes or no takes the text too).
function asWritten(section: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(section).map(([k, v]) => [k, typeof v === 'boolean' || v === null ? String(v) : v]));
}

// A code directory's id is a plain name inside the function's code folder: never a path.
const CODE_ID_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;

function parseVersionRef(name: string, raw: unknown): VersionRef {
  const v = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  for (const k of Object.keys(v)) if (k !== 'number' && k !== 'code') fail('FAASS_E_CONFIG_INVALID', `Unknown key ${JSON.stringify(k)} in [version] of function ${name}; known keys: number, code`);
  return Object.freeze({ number: number('version number', v.number, 1, Number.MAX_SAFE_INTEGER, { integer: true }), code: matching(CODE_ID_RE, 'expected a code directory id')('version code', v.code) });
}

// The function's file with its version: the settings text (renderFunctionConfig, which leaves
// the version out: a version's settings snapshot and digest are that text) and the [version].
export function withVersion(settingsText: string, ref: VersionRef): string {
  return `${settingsText.replace(/\n*$/, '\n')}\n${ini.stringify({ version: { number: ref.number, code: ref.code } })}`;
}

// The asynchronous-call keys a function's file holds: only those set otherwise than the
// default, so files from before these keys read the same (and the API's view shows the same).
export function queueKeys(cfg: FunctionConfig): { retries?: number; retry_max_age?: number; queue_max?: number } {
  const d = FUNCTION_DEFAULTS;
  return {
    ...(cfg.retries !== d.retries ? { retries: cfg.retries } : {}),
    ...(cfg.retryMaxAge !== d.retryMaxAge ? { retry_max_age: cfg.retryMaxAge } : {}),
    ...(cfg.queueMax !== d.queueMax ? { queue_max: cfg.queueMax } : {}),
  };
}

export function renderFunctionConfig(cfg: FunctionConfig): string {
  const fn: Record<string, string | number> = {};
  const put = (k: string, v: string | number | undefined) => {
    if (v !== undefined) fn[k] = v;
  };
  if (cfg.kind === 'service') {
    put('kind', cfg.kind);
    put('port', cfg.port);
    put('health', cfg.health);
    put('ready_timeout', cfg.readyTimeout);
  }
  put('runtime', cfg.runtime);
  put('command', cfg.command);
  put('image', cfg.image);
  put('build', cfg.build);
  if (cfg.runtime === 'docker' || cfg.kind === 'service') put('network', cfg.network);
  put('file', cfg.file);
  put('handler', cfg.handler);
  if (cfg.convention !== 'faass') put('convention', cfg.convention); // files from before it read the same
  put('protocol', cfg.protocol);
  put('timeout', cfg.timeout);
  put('idle', cfg.idle);
  put('max_inflight', cfg.maxInflight);
  put('workers', cfg.workers);
  put('max_output', cfg.maxOutput);
  put('content_type', cfg.contentType);
  put('memory_max', cfg.memoryMax);
  put('tasks_max', cfg.tasksMax);
  put('cpu_quota', cfg.cpuQuota);
  put('scratch_max', cfg.scratchMax);
  if (cfg.auth.length > 0) put('auth', cfg.auth.join(','));
  if (cfg.passAuthorization) put('pass_authorization', 'yes');
  if (cfg.secrets.length > 0) put('secrets', cfg.secrets.join(','));
  for (const [k, v] of Object.entries(queueKeys(cfg))) put(k, v);
  const sorted = Object.fromEntries(Object.entries(cfg.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return '# faass function ' + cfg.name + ' (faass.conf(5)); written by faassctl deploy or the management API\n' + ini.stringify({ function: fn, env: sorted });
}

export function loadFunctionConfig(paths: Paths, name: string): FunctionConfig {
  validateName(name);
  const file = functionConfPath(paths, name);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') fail('FAASS_E_FUNCTION_NOT_FOUND', `No function named ${name} (no ${file})`);
    throw brokenFile(file, e);
  }
  try {
    return parseFunctionConfig(name, text);
  } catch (e) {
    throw brokenFile(file, e);
  }
}

export function listFunctionNames(paths: Paths): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(`${paths.configDir}/functions`);
  } catch {
    return [];
  }
  return entries
    .filter((f) => f.endsWith('.conf'))
    .map((f) => f.slice(0, -5))
    .filter(isValidName)
    .sort();
}

// The config as input again (its INI keys), e.g. to redeploy it with one key changed.
export function configInput(cfg: FunctionConfig): FunctionInput {
  const doc = ini.parse(renderFunctionConfig(cfg)) as { function?: Record<string, unknown>; env?: Record<string, unknown> };
  return { ...(doc.function ?? {}), env: { ...(doc.env ?? {}) } };
}
