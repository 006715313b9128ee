// A stack file's function as a faass deploy (docs/DESIGN.md "Stacks"). Pure: OpenFaaS's lang +
// handler become a runtime, a handler file and the template's calling convention
// (function-config.ts CONVENTIONS), environment env, limits memory_max and cpu_quota, an image
// with no handler a container; faass's own keys come under x-faass. What would run differently
// than under OpenFaaS is refused, naming the key and its place in the file.
import * as path from 'node:path';
import { FaassError, fail } from '../core/errors';
import { Convention, FunctionInput } from '../functions/function-config';
import { DeploySpec, checkSpec } from '../functions/deploy-plan';
import { StackFunction } from './stack-file';

interface Template {
  runtime: 'node' | 'python';
  file: string;
  convention: Convention;
}

// OpenFaaS's templates faass has a runtime for (openfaas/templates; -debian, -arm variants alike).
const TEMPLATES: [RegExp, Template][] = [
  [/^node(1[2-9]|2\d)(-debian|-armhf|-arm64)?$/, { runtime: 'node', file: 'handler.js', convention: 'openfaas-http' }],
  [/^node(-armhf|-arm64)?$/, { runtime: 'node', file: 'handler.js', convention: 'openfaas-classic' }],
  [/^python3-http(-debian|-armhf)?$/, { runtime: 'python', file: 'handler.py', convention: 'openfaas-http' }],
  [/^python3(-flask)?(-debian|-armhf|-arm64)?$/, { runtime: 'python', file: 'handler.py', convention: 'openfaas-classic' }],
];
export const KNOWN_LANGS = 'node, node12 ... node22 (and -debian), python3, python3-flask, python3-http (and -debian), dockerfile';

export function templateOf(lang: string): Template | 'dockerfile' | null {
  if (lang === 'dockerfile') return 'dockerfile';
  return TEMPLATES.find(([re]) => re.test(lang))?.[1] ?? null;
}

// The port OpenFaaS's watchdog serves on inside every function image.
export const WATCHDOG_PORT = 8080;

// faass's own keys under x-faass: the function file's (faass.conf(5)) that a stack may set.
export const X_FAASS_KEYS = ['auth', 'pass_authorization', 'timeout', 'idle', 'workers', 'max_inflight', 'max_output', 'content_type', 'memory_max', 'tasks_max', 'cpu_quota', 'scratch_max', 'protocol', 'retries', 'retry_max_age', 'queue_max', 'kind', 'port', 'health', 'ready_timeout', 'network', 'command', 'handler'];

const UNITS: Record<string, number> = { '': 1, k: 1000, K: 1024, Ki: 1024, M: 1000 ** 2, Mi: 1024 ** 2, m: 1024 ** 2, G: 1000 ** 3, Gi: 1024 ** 3, g: 1024 ** 3 };

// limits.memory as Kubernetes (128Mi, 1G) or Swarm (128m: MiB, as docker reads it) write it, in bytes.
export function memoryBytes(v: string): string {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|K|M|m|G|g)?$/.exec(v.trim());
  if (!m) throw new Error('must be a size like 128Mi');
  const bytes = Math.round(Number(m[1]) * UNITS[m[2] ?? '']);
  if (bytes < 1024 * 1024) throw new Error('must be at least 1Mi');
  return String(bytes);
}

// limits.cpu in CPUs (0.5) or millicores (500m), as a percent of one CPU (cpu_quota).
export function cpuPercent(v: string): string {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(v.trim());
  if (!m) throw new Error('must be CPUs like 0.5 or millicores like 500m');
  const percent = m[2] ? Number(m[1]) / 10 : Number(m[1]) * 100;
  if (percent < 1) throw new Error('must be at least 10m (1% of a CPU)');
  return String(Math.round(percent));
}

// secrets: the function's secrets= (functions/secrets.ts): each is handed to it as a systemd
// credential and at OpenFaaS's /var/openfaas/secrets/NAME; the deploy refuses one not created.
export function secretsInput(fn: StackFunction): Partial<FunctionInput> {
  return fn.secrets.length ? { secrets: fn.secrets.join(',') } : {};
}

const at = (fn: StackFunction, key: string) => fn.where[key] ?? fn.where[''];
function refuse(fn: StackFunction, key: string, why: string): never {
  return fail('FAASS_E_CONFIG_INVALID', `${at(fn, key)}: functions.${fn.name}${key ? '.' + key : ''}: ${why}`);
}

function located<T>(fn: StackFunction, key: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    return refuse(fn, key, (e as Error).message);
  }
}

// The code and how it runs: from lang and handler, or from image alone.
function codeOf(fn: StackFunction, dir: string): { input: FunctionInput; fromFile?: string; ignored: string[] } {
  const ignored: string[] = [];
  const handlerDir = () => (fn.handler ? path.resolve(dir, fn.handler) : refuse(fn, 'lang', `lang ${fn.lang} needs handler: the directory of its handler`));
  if (fn.lang !== undefined) {
    const t = templateOf(fn.lang);
    if (t === null) refuse(fn, 'lang', `faass has no runtime for lang ${JSON.stringify(fn.lang.slice(0, 40))} (it runs ${KNOWN_LANGS}); deploy its built image with image: and no lang`);
    if (fn.image !== undefined) ignored.push(`${at(fn, 'image')}: functions.${fn.name}.image: ignored (faass runs the handler itself; no image is built or pulled)`);
    if (fn.fprocess !== undefined) refuse(fn, 'fprocess', 'only with image: and no lang (the command each call runs in the container)');
    if (t === 'dockerfile') return { input: { runtime: 'docker', build: '.', kind: 'service', port: String(WATCHDOG_PORT) }, fromFile: handlerDir(), ignored };
    return { input: { runtime: t.runtime, file: t.file, convention: t.convention }, fromFile: handlerDir(), ignored };
  }
  if (fn.image === undefined) return refuse(fn, '', 'needs lang and handler, or image');
  if (fn.handler !== undefined) ignored.push(`${at(fn, 'handler')}: functions.${fn.name}.handler: ignored (no lang: the image is deployed as it is)`);
  // fprocess: the classic watchdog's command, run once per call with the body on stdin (a faass
  // container function); else the image's watchdog serves HTTP on its port (a faass service).
  if (fn.fprocess !== undefined) return { input: { runtime: 'docker', image: fn.image, command: fn.fprocess }, ignored };
  return { input: { runtime: 'docker', image: fn.image, kind: 'service', port: String(WATCHDOG_PORT) }, ignored };
}

export function toDeploySpec(fn: StackFunction, dir: string): { spec: DeploySpec; ignored: string[] } {
  const code = codeOf(fn, dir);
  const input: FunctionInput = { ...code.input, ...secretsInput(fn), env: { ...fn.environment } };
  if (fn.limits.memory !== undefined) input.memory_max = located(fn, 'limits.memory', () => memoryBytes(fn.limits.memory as string));
  if (fn.limits.cpu !== undefined) input.cpu_quota = located(fn, 'limits.cpu', () => cpuPercent(fn.limits.cpu as string));
  for (const [k, v] of Object.entries(fn.faass)) {
    if (!X_FAASS_KEYS.includes(k)) refuse(fn, `x-faass.${k}`, `unknown key; x-faass takes ${X_FAASS_KEYS.join(', ')}`);
    (input as Record<string, unknown>)[k] = v;
  }
  const spec: DeploySpec = { name: fn.name, input, fromFile: code.fromFile };
  try {
    checkSpec(spec);
  } catch (e) {
    // The function file's own rules (function-config.ts): placed at the x-faass key they name.
    const key = Object.keys(fn.faass).find((k) => new RegExp(`\\b${k}\\b`).test((e as Error).message));
    if (e instanceof FaassError) fail(e.code, `${at(fn, key ? `x-faass.${key}` : '')}: functions.${fn.name}${key ? `.x-faass.${key}` : ''}: ${e.message}`);
    throw e;
  }
  return { spec, ignored: code.ignored };
}
