// faass.conf: the host's settings, [gateway] (read by the gateway, and by runners, apps, the
// API and faassctl for what concerns them: metrics, call lines, body limits), [docker] and
// [async] (asynchronous calls: where callbacks may go).
import * as fs from 'node:fs';
import * as ini from 'ini';
import { fail, brokenFile } from './errors';
import { writeFileAtomic } from './fs-atomic';
import { privateDir } from './private-files';
import { Paths, gatewayConfPath } from './paths';
import * as path from 'node:path';
import { Address, address, number, size, plainString, boolean, oneOf, timespan } from './validate';
import { Cidr, parseCidrList } from './cidr';

// Who may read /metrics: filtered (anyone, but only the series of public functions and
// faass-wide ones unless an admin credential is given), admin (admins only), open (anyone, all).
export const METRICS_ACCESS = ['filtered', 'admin', 'open'] as const;
export type MetricsAccess = (typeof METRICS_ACCESS)[number];

export interface Settings {
  readonly listen: Address;
  readonly idle: number; // seconds without connections before the gateway exits; 0 = never
  readonly timeout: number; // seconds to wait for a function's answer
  readonly maxBody: number; // bytes
  // HTTPS: on the main socket (HTTP off), or on a second socket tls_listen (the main one then
  // serves HTTP, or redirects it to HTTPS with http_redirect).
  readonly tls?: { readonly cert: string; readonly key: string; readonly listen?: Address; readonly redirect: boolean };
  readonly metrics: boolean; // GET /metrics, and the counting behind it
  readonly metricsAccess: MetricsAccess;
  readonly logCalls: boolean; // one journal line per call
  readonly maxClientConnections: number; // open connections per client address; more are closed at once
  readonly headersTimeout: number; // seconds a connection has to send a request's headers
  readonly keepVersions: number; // numbered versions kept per function (functions/versions.ts), besides the current one
  // The web console's own address (an origin of its own, DESIGN.md "Web console"); unset: no console.
  readonly consoleListen?: Address;
}

export const SETTINGS_DEFAULTS = { listen: '127.0.0.1:8080', idle: 10, timeout: 60, maxBody: '10M', maxClientConnections: 256, headersTimeout: 10, keepVersions: 10 };

const absolutePath = (k: string, v: unknown): string => {
  const s = plainString(k, v);
  if (!path.isAbsolute(s)) fail('FAASS_E_CONFIG_INVALID', `Invalid ${k} ${JSON.stringify(s.slice(0, 80))}: expected an absolute path`);
  return s;
};

// One parser per [gateway] key: the only place a key's type and range are decided.
const PARSERS = {
  listen: (k: string, v: unknown) => address(k, v),
  idle: (k: string, v: unknown) => timespan(k, v, 0, 86400),
  timeout: (k: string, v: unknown) => timespan(k, v, 0.1, 86400),
  max_body: (k: string, v: unknown) => size(k, v, 0, 1024 ** 3),
  tls_cert: absolutePath,
  tls_key: absolutePath,
  tls_listen: (k: string, v: unknown) => address(k, v),
  console_listen: (k: string, v: unknown) => address(k, v),
  http_redirect: (k: string, v: unknown) => boolean(k, v),
  metrics: (k: string, v: unknown) => boolean(k, v),
  metrics_access: (k: string, v: unknown) => oneOf(k, v, METRICS_ACCESS),
  log_calls: (k: string, v: unknown) => boolean(k, v),
  max_client_connections: (k: string, v: unknown) => number(k, v, 1, 1_000_000, { integer: true }),
  headers_timeout: (k: string, v: unknown) => timespan(k, v, 1, 3600),
  keep_versions: (k: string, v: unknown) => number(k, v, 1, 10000, { integer: true }),
};
type Key = keyof typeof PARSERS;
const KEYS = Object.keys(PARSERS) as Key[];
const DEFAULTS: Partial<Record<Key, unknown>> = { listen: SETTINGS_DEFAULTS.listen, idle: SETTINGS_DEFAULTS.idle, timeout: SETTINGS_DEFAULTS.timeout, max_body: SETTINGS_DEFAULTS.maxBody, http_redirect: false, metrics: true, metrics_access: 'filtered', log_calls: true, max_client_connections: SETTINGS_DEFAULTS.maxClientConnections, headers_timeout: SETTINGS_DEFAULTS.headersTimeout, keep_versions: SETTINGS_DEFAULTS.keepVersions };

// Each key through its parser (a given value, else the default); undefined: neither.
function parseKeys(raw: Record<string, unknown>): { [K in Key]: ReturnType<(typeof PARSERS)[K]> | undefined } {
  for (const k of Object.keys(raw)) {
    if (!(KEYS as string[]).includes(k)) fail('FAASS_E_CONFIG_INVALID', `Unknown key ${JSON.stringify(k)} in [gateway]; known keys: ${KEYS.join(', ')}`);
  }
  const out: Record<string, unknown> = {};
  for (const k of KEYS) {
    const v = raw[k] ?? DEFAULTS[k];
    out[k] = v === undefined ? undefined : PARSERS[k](k, v);
  }
  return out as { [K in Key]: ReturnType<(typeof PARSERS)[K]> | undefined };
}

export function buildSettings(raw: Record<string, unknown>): Settings {
  const v = parseKeys(raw);
  // Rules between keys, checked in the order a user would fix them.
  if ((v.tls_cert === undefined) !== (v.tls_key === undefined)) fail('FAASS_E_CONFIG_INVALID', 'tls_cert and tls_key go together');
  if (v.tls_cert === undefined && (raw.tls_listen !== undefined || raw.http_redirect !== undefined)) fail('FAASS_E_CONFIG_INVALID', 'tls_listen and http_redirect need tls_cert and tls_key');
  if (v.http_redirect && v.tls_listen === undefined) fail('FAASS_E_CONFIG_INVALID', 'http_redirect needs tls_listen (HTTPS on a second socket)');
  const listen = v.listen as Address;
  if (v.tls_listen && v.tls_listen.text === listen.text) fail('FAASS_E_CONFIG_INVALID', 'tls_listen must differ from listen');
  // The console's origin must be its own: never an address a function is served on.
  if (v.console_listen && [listen.text, v.tls_listen?.text].includes(v.console_listen.text)) fail('FAASS_E_CONFIG_INVALID', 'console_listen must differ from listen and tls_listen: the console needs an origin of its own');
  return Object.freeze({
    listen,
    tls: v.tls_cert !== undefined && v.tls_key !== undefined ? Object.freeze({ cert: v.tls_cert, key: v.tls_key, listen: v.tls_listen, redirect: v.http_redirect as boolean }) : undefined,
    idle: v.idle as number,
    timeout: v.timeout as number,
    maxBody: v.max_body as number,
    metrics: v.metrics as boolean,
    metricsAccess: v.metrics_access as MetricsAccess,
    logCalls: v.log_calls as boolean,
    maxClientConnections: v.max_client_connections as number,
    headersTimeout: v.headers_timeout as number,
    keepVersions: v.keep_versions as number,
    ...(v.console_listen ? { consoleListen: v.console_listen } : {}),
  });
}

const SECTIONS = ['gateway', 'docker', 'async'];

function parseSections(text: string): Record<string, Record<string, unknown>> {
  const doc = ini.parse(text) as Record<string, unknown>;
  for (const k of Object.keys(doc)) {
    if (!SECTIONS.includes(k)) fail('FAASS_E_CONFIG_INVALID', `Unexpected ${typeof doc[k] === 'object' ? 'section [' + k + ']' : 'key ' + JSON.stringify(k)} in faass.conf; expected [gateway], [docker] and [async]`);
  }
  return Object.fromEntries(SECTIONS.map((s) => [s, { ...((doc[s] ?? {}) as Record<string, unknown>) }]));
}

function readSections(paths: Paths): Record<string, Record<string, unknown>> {
  const file = gatewayConfPath(paths);
  try {
    return parseSections(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { gateway: {}, docker: {}, async: {} };
    throw brokenFile(file, e);
  }
}

export function readSettingsIni(paths: Paths): Record<string, unknown> {
  return readSections(paths).gateway;
}

export interface DockerSettings {
  readonly socketPath: string; // the Docker Engine API socket
  readonly buildTimeout: number; // seconds an image build may take before it is cancelled
}

// A build runs with no network (image-build.ts), so ten minutes is long for one; a build that
// hangs (a RUN waiting on input, a loop) must not hold a deploy, and the API's connection, for ever.
export const DEFAULT_BUILD_TIMEOUT = '10min';
const DOCKER_KEYS = ['host', 'build_timeout'];

// [docker] host= as DOCKER_HOST writes it (unix:///path) or a plain path; default: the
// environment's DOCKER_HOST, then /var/run/docker.sock. build_timeout= a time span.
export function buildDockerSettings(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): DockerSettings {
  for (const k of Object.keys(raw)) if (!DOCKER_KEYS.includes(k)) fail('FAASS_E_CONFIG_INVALID', `Unknown key ${JSON.stringify(k)} in [docker]; known keys: ${DOCKER_KEYS.join(', ')}`);
  const given = raw.host ?? env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const s = typeof given === 'string' ? given.replace(/^unix:\/\//, '') : '';
  if (!s.startsWith('/') || /[\x00-\x1f]/.test(s)) fail('FAASS_E_CONFIG_INVALID', `Invalid [docker] host ${JSON.stringify(String(given).slice(0, 80))}: expected unix:///path/to/docker.sock`);
  return { socketPath: s, buildTimeout: timespan('build_timeout', raw.build_timeout ?? DEFAULT_BUILD_TIMEOUT, 1, 86400) };
}

export function loadDockerSettings(paths: Paths, env: NodeJS.ProcessEnv = process.env): DockerSettings {
  const raw = readSections(paths).docker;
  try {
    return buildDockerSettings(raw, env);
  } catch (e) {
    throw brokenFile(gatewayConfPath(paths), e);
  }
}

// The gateway's TCP ports (HTTP, HTTPS on a second socket, the console's): never a service's or a callback's.
export const gatewayPorts = (gw: Settings): number[] => [gw.listen, gw.tls?.listen, gw.consoleListen].flatMap((a) => (a?.kind === 'tcp' ? [a.port] : []));

export interface AsyncSettings {
  // Where X-Callback-Url may point: every address its host resolves to must be in one of these
  // (checked at enqueue and again at each send, against the address connected to).
  readonly callbackAllow: readonly Cidr[];
  // The gateway's own TCP ports (listen, tls_listen): never a callback's, whatever the address,
  // so no callback reaches the gateway (a loop of calls, or an enqueue the caller could not make).
  readonly gatewayPorts: readonly number[];
}

// Loopback only: a caller who can reach the gateway can make it post to these, so by default
// only to this host (as the caller, on the host, could itself).
export const DEFAULT_CALLBACK_ALLOW = '127.0.0.0/8 ::1/128';
const ASYNC_KEYS = ['callback_allow'];

export function buildAsyncSettings(raw: Record<string, unknown>, gateway: Settings | null = null): AsyncSettings {
  for (const k of Object.keys(raw)) if (!ASYNC_KEYS.includes(k)) fail('FAASS_E_CONFIG_INVALID', `Unknown key ${JSON.stringify(k)} in [async]; known keys: ${ASYNC_KEYS.join(', ')}`);
  // ini reads `callback_allow =` (nothing) as an empty string: no callback may go anywhere.
  return Object.freeze({ callbackAllow: parseCidrList('callback_allow', raw.callback_allow ?? DEFAULT_CALLBACK_ALLOW), gatewayPorts: Object.freeze(gateway ? gatewayPorts(gateway) : []) });
}

// FAASS_E_CONFIG_BROKEN when faass.conf (any part of it) does not parse: callbacks then go
// nowhere, failing closed.
export function loadAsyncSettings(paths: Paths): AsyncSettings {
  const sections = readSections(paths);
  try {
    return buildAsyncSettings(sections.async, buildSettings(sections.gateway));
  } catch (e) {
    throw brokenFile(gatewayConfPath(paths), e);
  }
}

export function loadSettings(paths: Paths): Settings {
  const raw = readSettingsIni(paths);
  try {
    return buildSettings(raw);
  } catch (e) {
    throw brokenFile(gatewayConfPath(paths), e);
  }
}

// The gateway's idle time even when the file is broken (the gateway then answers 503 and exits
// idle as usual): the file's idle= if that one parses, else the default.
export function idleOrDefault(paths: Paths): number {
  try {
    return PARSERS.idle('idle', readSettingsIni(paths).idle ?? DEFAULTS.idle);
  } catch {
    return SETTINGS_DEFAULTS.idle;
  }
}

// The whole text faass.conf would have, checked as the gateway and the runners will read it
// (FAASS_E_CONFIG_INVALID when it would not do).
export function checkedSettingsText(raw: Record<string, unknown>, docker: Record<string, unknown>, async: Record<string, unknown> = {}): string {
  const text = renderSettingsIni(raw, docker, async);
  const parsed = parseSections(text);
  buildSettings(parsed.gateway);
  buildDockerSettings(parsed.docker, {});
  buildAsyncSettings(parsed.async);
  return text;
}

// The one way faass.conf is written (faassctl init, tls): checked whole, and only then put in
// place, so a bad input leaves the old file untouched and no reader ever sees a bad file. The
// [async] section, which no command writes, is kept as the file has it.
export function writeSettings(paths: Paths, raw: Record<string, unknown>, docker: Record<string, unknown>): void {
  const text = checkedSettingsText(raw, docker, readSections(paths).async);
  privateDir(paths, paths.configDir);
  writeFileAtomic(gatewayConfPath(paths), text);
}

export function renderSettingsIni(raw: Record<string, unknown>, docker: Record<string, unknown> = {}, async: Record<string, unknown> = {}): string {
  const sort = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
  const doc: Record<string, unknown> = { gateway: sort(raw) };
  if (Object.keys(docker).length) doc.docker = sort(docker);
  if (Object.keys(async).length) doc.async = sort(async);
  return '# faass settings (faass.conf(5))\n' + ini.stringify(doc);
}

export function readDockerIni(paths: Paths): Record<string, unknown> {
  return readSections(paths).docker;
}
