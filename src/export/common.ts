// What the Knative and Kubernetes exports share: the image a function runs as, its limits as
// Kubernetes quantities, its secrets as a volume (names only, never values), and names that
// fit Kubernetes' length rules. Pure.
import { createHash } from 'node:crypto';
import { fail } from '../core/errors';
import { FUNCTION_DEFAULTS, FunctionConfig, IMAGE_RE } from '../functions/function-config';
import { ExportFunction } from './mapping';
import { HEALTH_PATH, READY_PATH } from '../image/layout';

export interface ExportOptions {
  readonly imagePrefix: string; // IMAGE-PREFIX of IMAGE-PREFIX/NAME:VERSION
  readonly tag?: string; // instead of each function's version
}

export type Doc = Record<string, unknown>;

export interface Manifest {
  readonly file: string; // its name in -o DIR
  readonly docs: readonly Doc[];
}

export interface Exported {
  readonly manifests: readonly Manifest[];
  readonly notMapped: readonly string[];
  readonly secretCommands: readonly string[]; // how to make the Secrets the manifests name, without values
}

// Where a function's image is to be pushed: faassctl image builds it.
export const DEFAULT_IMAGE_PREFIX = 'registry.example/faass';
// The port the image serves the function on ($PORT, the contract Knative and Cloud Run use).
export const IMAGE_PORT = 8080;
// Where the image's runner (and OpenFaaS handlers) read secrets, as on this host.
export const SECRETS_DIR = '/var/openfaas/secrets';
export const MANAGED_BY = { 'app.kubernetes.io/name': '', 'app.kubernetes.io/managed-by': 'faassctl-export' };

// The one rule for a function's image reference, IMAGE-PREFIX/NAME:VERSION: what faassctl image
// tags and faassctl export's manifests name, for the same options.
export function imageRefOf(cfg: Pick<FunctionConfig, 'name' | 'version'>, o: ExportOptions): { repo: string; tag: string; ref: string } {
  const repo = `${o.imagePrefix}/${cfg.name}`;
  const tag = o.tag ?? (cfg.version ? String(cfg.version.number) : 'latest');
  const ref = `${repo}:${tag}`;
  if (!IMAGE_RE.test(ref) || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) fail('FAASS_E_USAGE', `Invalid image ${JSON.stringify(ref.slice(0, 120))} from --image-prefix and --tag: expected a reference such as ${DEFAULT_IMAGE_PREFIX}/NAME:1`);
  return { repo, tag, ref };
}

export const imageOf = (f: ExportFunction, o: ExportOptions): string => imageRefOf(f.cfg, o).ref;

// An image answers probes of its own (faassctl image): readiness fails once a stop began, so no
// call goes to a draining pod; a service's, also while its app's port (and health= path) does
// not answer, so its health= is looked at through /_/ready.
export const imageProbes = (): Doc => ({ readinessProbe: { httpGet: { path: READY_PATH, port: IMAGE_PORT } }, livenessProbe: { httpGet: { path: HEALTH_PATH, port: IMAGE_PORT } } });

export const labelsOf = (name: string): Record<string, string> => ({ ...MANAGED_BY, 'app.kubernetes.io/name': name });

// memory_max (bytes) as a quantity: whole Mi or Ki where it divides, else bytes.
export function memoryQuantity(bytes: string): string {
  const n = Number(bytes);
  if (n % 1024 ** 2 === 0) return `${n / 1024 ** 2}Mi`;
  if (n % 1024 === 0) return `${n / 1024}Ki`;
  return String(n);
}

// cpu_quota (percent of one CPU) in millicores.
export const cpuQuantity = (percent: number): string => `${percent * 10}m`;

// limits (and, for an autoscaler to measure against, requests) from memory_max, cpu_quota and
// scratch_max.
export function resourcesOf(f: ExportFunction, withRequests: boolean): Doc | undefined {
  const limits: Record<string, string> = {};
  if (f.cfg.memoryMax !== undefined) limits.memory = memoryQuantity(f.cfg.memoryMax);
  if (f.cfg.cpuQuota !== undefined) limits.cpu = cpuQuantity(f.cfg.cpuQuota);
  // Only when set: the default's 64 MiB of each tmpfs, as the pod's whole writable space (its
  // logs too), would get pods evicted that faass runs fine.
  if (f.cfg.scratchMax !== FUNCTION_DEFAULTS.scratchMax) limits['ephemeral-storage'] = memoryQuantity(String(f.cfg.scratchMax));
  const requests = withRequests ? { ...(limits.memory ? { memory: limits.memory } : {}), cpu: limits.cpu ?? '100m' } : undefined;
  return { limits, ...(requests ? { requests } : {}) };
}

// The function's secrets as one projected volume at /var/openfaas/secrets: each Secret's key of
// its own name as the file of that name. None: no volume.
export function secretVolume(f: ExportFunction): { volumes: Doc[]; volumeMounts: Doc[] } {
  if (f.cfg.secrets.length === 0) return { volumes: [], volumeMounts: [] };
  return {
    volumes: [{ name: 'faass-secrets', projected: { sources: f.cfg.secrets.map((s) => ({ secret: { name: s, items: [{ key: s, path: s }] } })) } }],
    volumeMounts: [{ name: 'faass-secrets', mountPath: SECRETS_DIR, readOnly: true }],
  };
}

// kubectl lines that make the Secrets, with the value read from a file the user names: a value
// is never exported (faassctl secret keeps it on this host only).
export function secretCommands(fns: readonly ExportFunction[]): string[] {
  const names = [...new Set(fns.flatMap((f) => f.cfg.secrets))].sort();
  return names.map((s) => `kubectl create secret generic ${s} --from-file=${s}=PATH-TO-${s.toUpperCase()}-VALUE`);
}

// NAME-SUFFIX, cut to max characters with a hash of the whole kept (a CronJob's name is at most
// 52, an object's 63), so two long names never become one.
export function objectName(name: string, suffix: string, max = 63): string {
  const whole = `${name}-${suffix}`;
  if (whole.length <= max) return whole;
  const hash = createHash('sha256').update(whole).digest('hex').slice(0, 8);
  return `${whole.slice(0, max - 9).replace(/-+$/, '')}-${hash}`;
}

export const envList = (env: Readonly<Record<string, string>>): Doc[] => Object.entries(env).map(([name, value]) => ({ name, value }));

// The line for a schedule whose spec cron cannot say (cron.ts cronOf), the same on every target.
export const uncronable = (f: ExportFunction, s: { id: string; spec: string }, target: string): string =>
  `${f.cfg.name}: schedule ${s.id} "${s.spec}": not mapped to ${target}: cron cannot say this calendar expression (seconds, a year, or days of the month and of the week together)`;
