import * as fs from 'node:fs';
import * as ini from 'ini';
import { fail, FaassError } from '../core/errors';
import { Paths, functionConfPath } from '../core/paths';
import { validateName, isValidName, plainString, number, size, oneOf, boolean } from '../core/validate';

export const RUNTIMES = ['exec', 'node', 'python', 'docker'] as const;
export type Runtime = (typeof RUNTIMES)[number];
export const PROTOCOLS = ['raw', 'framed'] as const;
export const NETWORKS = ['none', 'host', 'bridge'] as const;
export const KINDS = ['function', 'service'] as const;
export type Kind = (typeof KINDS)[number];
export type Network = (typeof NETWORKS)[number];
export type Protocol = (typeof PROTOCOLS)[number];

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
  readonly network: Network; // docker: the container's network
  readonly file?: string; // file inside the code directory (script or handler module)
  readonly handler?: string; // node: export name; python: function name
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
  readonly auth: readonly string[]; // credentials that may call it (admins always may); empty: public
  readonly passAuthorization: boolean; // forward the caller's Authorization header to the function
  readonly env: Readonly<Record<string, string>>;
}

export const FUNCTION_DEFAULTS = {
  protocol: 'raw' as Protocol,
  timeout: 30,
  idle: 10,
  maxInflight: 100,
  workers: 4,
  maxOutput: 10 * 1024 * 1024,
};

// INI key -> field; the schema a function file may contain, nothing else.
const KEYS = ['kind', 'port', 'health', 'ready_timeout', 'runtime', 'command', 'image', 'build', 'network', 'file', 'handler', 'protocol', 'timeout', 'idle', 'max_inflight', 'workers', 'max_output', 'content_type', 'memory_max', 'tasks_max', 'cpu_quota', 'auth', 'pass_authorization'] as const;
const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FILE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
// docker's reference grammar, loosely: [registry[:port]/]path[:tag][@digest].
const IMAGE_RE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export type FunctionInput = Partial<Record<(typeof KEYS)[number], unknown>> & { env?: Record<string, unknown> };

// Validates raw values (from INI or from the command line) into a frozen config.
export function buildFunctionConfig(name: string, raw: FunctionInput): FunctionConfig {
  validateName(name);
  for (const k of Object.keys(raw)) {
    if (k !== 'env' && !(KEYS as readonly string[]).includes(k)) fail('FAASS_E_CONFIG_INVALID', `Unknown key ${JSON.stringify(k)} in function ${name}; known keys: ${KEYS.join(', ')}`);
  }
  if (raw.runtime === undefined) fail('FAASS_E_CONFIG_INVALID', `Function ${name}: runtime is required (${RUNTIMES.join(', ')})`);
  const runtimeText = plainString('runtime', raw.runtime);
  if (!(RUNTIMES as readonly string[]).includes(runtimeText)) fail('FAASS_E_RUNTIME_UNKNOWN', `Unknown runtime ${JSON.stringify(runtimeText)}: expected one of ${RUNTIMES.join(', ')}`);
  const runtime = runtimeText as Runtime;
  const opt = <T>(k: (typeof KEYS)[number], f: (field: string, v: unknown) => T): T | undefined => (raw[k] === undefined ? undefined : f(k, raw[k]));
  const command = opt('command', (f, v) => plainString(f, v));
  const file = opt('file', (f, v) => {
    const s = plainString(f, v);
    if (!FILE_RE.test(s)) fail('FAASS_E_CONFIG_INVALID', `Invalid file ${JSON.stringify(s)}: a plain file name inside the function's code directory`);
    return s;
  });
  const handler = opt('handler', (f, v) => {
    const s = plainString(f, v);
    if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s)) fail('FAASS_E_CONFIG_INVALID', `Invalid handler ${JSON.stringify(s)}: expected an identifier`);
    return s;
  });
  const image = opt('image', (f, v) => {
    const s = plainString(f, v);
    if (!IMAGE_RE.test(s)) fail('FAASS_E_CONFIG_INVALID', `Invalid image ${JSON.stringify(s)}: expected a docker image reference such as busybox:latest`);
    return s;
  });
  const build = opt('build', (f, v) => {
    const s = plainString(f, v);
    if (s.split('/').includes('..')) fail('FAASS_E_CONFIG_INVALID', `Invalid build ${JSON.stringify(s)}: expected an absolute directory, or one inside the function's code such as . (no ..)`);
    return s;
  });
  if (build !== undefined && runtime !== 'docker') fail('FAASS_E_CONFIG_INVALID', `Function ${name}: build is only for runtime docker`);
  if (runtime === 'exec' && command === undefined && file === undefined) fail('FAASS_E_CONFIG_INVALID', `Function ${name}: runtime exec needs a command or a file`);
  if ((runtime === 'node' || runtime === 'python') && file === undefined) fail('FAASS_E_CONFIG_INVALID', `Function ${name}: runtime ${runtime} needs a handler file`);
  if ((runtime === 'node' || runtime === 'python') && command !== undefined) fail('FAASS_E_CONFIG_INVALID', `Function ${name}: command is only for runtimes exec and docker`);
  if (runtime === 'docker' && image === undefined) fail('FAASS_E_CONFIG_INVALID', `Function ${name}: runtime docker needs an image`);
  if (runtime !== 'docker' && (image !== undefined || raw.network !== undefined)) fail('FAASS_E_CONFIG_INVALID', `Function ${name}: image and network are only for runtime docker`);
  if (runtime === 'docker' && file !== undefined) fail('FAASS_E_CONFIG_INVALID', `Function ${name}: runtime docker takes its code from the image, not a file`);
  const kind = opt('kind', (f, v) => oneOf(f, v, KINDS)) ?? 'function';
  const port = opt('port', (f, v) => number(f, v, 1, 65535, { integer: true }));
  const health = opt('health', (f, v) => {
    const s = plainString(f, v);
    if (!/^\/[\x21-\x7e]*$/.test(s)) fail('FAASS_E_CONFIG_INVALID', `Invalid health ${JSON.stringify(s)}: expected a path starting with /`);
    return s;
  });
  if (kind === 'service') {
    if (port === undefined) fail('FAASS_E_CONFIG_INVALID', `Service ${name}: port is required (the app's port on 127.0.0.1)`);
    if (runtime !== 'exec' && runtime !== 'docker') fail('FAASS_E_CONFIG_INVALID', `Service ${name}: runtime must be exec (a command) or docker (an image)`);
    if (runtime === 'exec' && command === undefined) fail('FAASS_E_CONFIG_INVALID', `Service ${name}: runtime exec needs a command that serves HTTP on the port`);
    if (raw.network === 'none') fail('FAASS_E_CONFIG_INVALID', `Service ${name}: network none would make the app unreachable; use host or bridge`);
  } else if (port !== undefined || health !== undefined || raw.ready_timeout !== undefined) fail('FAASS_E_CONFIG_INVALID', `Function ${name}: port, health and ready_timeout are only for kind=service`);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.env ?? {})) {
    if (!ENV_KEY_RE.test(k)) fail('FAASS_E_CONFIG_INVALID', `Invalid environment variable name ${JSON.stringify(k)}`);
    env[k] = plainString(`env ${k}`, v, { allowEmpty: true });
  }
  const cfg: FunctionConfig = {
    name,
    kind,
    runtime,
    port,
    health,
    readyTimeout: opt('ready_timeout', (f, v) => number(f, v, 0.1, 3600)) ?? 30,
    command,
    image,
    build,
    network: opt('network', (f, v) => oneOf(f, v, NETWORKS)) ?? (kind === 'service' ? 'host' : 'none'),
    file,
    handler,
    protocol: opt('protocol', (f, v) => oneOf(f, v, PROTOCOLS)) ?? FUNCTION_DEFAULTS.protocol,
    timeout: opt('timeout', (f, v) => number(f, v, 0.1, 86400)) ?? FUNCTION_DEFAULTS.timeout,
    idle: opt('idle', (f, v) => number(f, v, 1, 86400)) ?? FUNCTION_DEFAULTS.idle,
    maxInflight: opt('max_inflight', (f, v) => number(f, v, 1, 100000, { integer: true })) ?? FUNCTION_DEFAULTS.maxInflight,
    workers: opt('workers', (f, v) => number(f, v, 1, 256, { integer: true })) ?? FUNCTION_DEFAULTS.workers,
    maxOutput: opt('max_output', (f, v) => size(f, v, 1, 1024 ** 3)) ?? FUNCTION_DEFAULTS.maxOutput,
    contentType: opt('content_type', (f, v) => {
      const s = plainString(f, v);
      if (!/^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+-]+)*$/.test(s)) fail('FAASS_E_CONFIG_INVALID', `Invalid content_type ${JSON.stringify(s)}: expected a media type such as text/plain`);
      return s;
    }),
    memoryMax: opt('memory_max', (f, v) => String(size(f, v, 1024 * 1024, 1024 ** 4))),
    tasksMax: opt('tasks_max', (f, v) => number(f, v, 1, 1000000, { integer: true })),
    cpuQuota: opt('cpu_quota', (f, v) => number(f, v, 1, 100000, { integer: true })),
    auth: Object.freeze(
      opt('auth', (f, v) => {
        const names = plainString(f, v, { allowEmpty: true }).split(',').map((n) => n.trim()).filter(Boolean);
        for (const n of names) if (!isValidName(n)) fail('FAASS_E_CONFIG_INVALID', `Invalid auth ${JSON.stringify(n.slice(0, 80))}: expected credential names (lowercase letters, digits and '-'), separated by commas`);
        return [...new Set(names)].sort();
      }) ?? [],
    ),
    passAuthorization: opt('pass_authorization', (f, v) => boolean(f, v)) ?? false,
    env: Object.freeze(env),
  };
  return Object.freeze(cfg);
}

export function parseFunctionConfig(name: string, text: string): FunctionConfig {
  const doc = ini.parse(text) as Record<string, unknown>;
  const known = ['function', 'env'];
  for (const k of Object.keys(doc)) {
    if (!known.includes(k)) fail('FAASS_E_CONFIG_INVALID', `Unexpected ${typeof doc[k] === 'object' ? 'section [' + k + ']' : 'key ' + JSON.stringify(k) + ' outside a section'} in function ${name}; expected [function] and [env]`);
  }
  const fn = (doc.function ?? {}) as Record<string, unknown>;
  return buildFunctionConfig(name, { ...fn, env: (doc.env ?? {}) as Record<string, unknown> });
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
  if (cfg.runtime === 'docker') put('network', cfg.network);
  put('file', cfg.file);
  put('handler', cfg.handler);
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
  if (cfg.auth.length > 0) put('auth', cfg.auth.join(','));
  if (cfg.passAuthorization) put('pass_authorization', 'yes');
  const sorted = Object.fromEntries(Object.entries(cfg.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return '# faass function ' + cfg.name + ' (faass.conf(5)); written by faassctl deploy\n' + ini.stringify({ function: fn, env: sorted });
}

export function loadFunctionConfig(paths: Paths, name: string): FunctionConfig {
  validateName(name);
  let text: string;
  try {
    text = fs.readFileSync(functionConfPath(paths, name), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') fail('FAASS_E_FUNCTION_NOT_FOUND', `No function named ${name} (no ${functionConfPath(paths, name)})`);
    throw e;
  }
  try {
    return parseFunctionConfig(name, text);
  } catch (e) {
    if (e instanceof FaassError) throw new FaassError(e.code, `${functionConfPath(paths, name)}: ${e.message}`);
    throw e;
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
