import * as fs from 'node:fs';
import * as ini from 'ini';
import { fail, FaassError } from './errors';
import { Paths, gatewayConfPath } from './paths';
import * as path from 'node:path';
import { Address, address, number, size, plainString, boolean } from './validate';

export interface GatewayConfig {
  readonly listen: Address;
  readonly idle: number; // seconds without connections before the gateway exits; 0 = never
  readonly timeout: number; // seconds to wait for a function's answer
  readonly maxBody: number; // bytes
  // HTTPS: on the main socket (HTTP off), or on a second socket tls_listen (the main one then
  // serves HTTP, or redirects it to HTTPS with http_redirect).
  readonly tls?: { readonly cert: string; readonly key: string; readonly listen?: Address; readonly redirect: boolean };
  readonly metrics: boolean; // GET /metrics, and the counting behind it
  readonly logCalls: boolean; // one journal line per call
}

export const GATEWAY_DEFAULTS = { listen: '127.0.0.1:8080', idle: 10, timeout: 60, maxBody: '10M' };
const KEYS = ['listen', 'idle', 'timeout', 'max_body', 'tls_cert', 'tls_key', 'tls_listen', 'http_redirect', 'metrics', 'log_calls'];

export function buildGatewayConfig(raw: Record<string, unknown>): GatewayConfig {
  for (const k of Object.keys(raw)) {
    if (!KEYS.includes(k)) fail('FAASS_E_CONFIG_INVALID', `Unknown key ${JSON.stringify(k)} in [gateway]; known keys: ${KEYS.join(', ')}`);
  }
  const file = (k: string): string | undefined => {
    if (raw[k] === undefined) return undefined;
    const v = plainString(k, raw[k]);
    if (!path.isAbsolute(v)) fail('FAASS_E_CONFIG_INVALID', `Invalid ${k} ${JSON.stringify(v.slice(0, 80))}: expected an absolute path`);
    return v;
  };
  const cert = file('tls_cert');
  const key = file('tls_key');
  if ((cert === undefined) !== (key === undefined)) fail('FAASS_E_CONFIG_INVALID', 'tls_cert and tls_key go together');
  if (cert === undefined && (raw.tls_listen !== undefined || raw.http_redirect !== undefined)) fail('FAASS_E_CONFIG_INVALID', 'tls_listen and http_redirect need tls_cert and tls_key');
  const tlsListen = raw.tls_listen === undefined ? undefined : address('tls_listen', raw.tls_listen);
  const redirect = raw.http_redirect === undefined ? false : boolean('http_redirect', raw.http_redirect);
  if (redirect && tlsListen === undefined) fail('FAASS_E_CONFIG_INVALID', 'http_redirect needs tls_listen (HTTPS on a second socket)');
  const listen = address('listen', raw.listen ?? GATEWAY_DEFAULTS.listen);
  if (tlsListen && tlsListen.text === listen.text) fail('FAASS_E_CONFIG_INVALID', 'tls_listen must differ from listen');
  return Object.freeze({
    listen,
    tls: cert !== undefined && key !== undefined ? Object.freeze({ cert, key, listen: tlsListen, redirect }) : undefined,
    idle: raw.idle === undefined ? GATEWAY_DEFAULTS.idle : number('idle', raw.idle, 0, 86400),
    timeout: raw.timeout === undefined ? GATEWAY_DEFAULTS.timeout : number('timeout', raw.timeout, 0.1, 86400),
    maxBody: size('max_body', raw.max_body ?? GATEWAY_DEFAULTS.maxBody, 0, 1024 ** 3),
    metrics: raw.metrics === undefined ? true : boolean('metrics', raw.metrics),
    logCalls: raw.log_calls === undefined ? true : boolean('log_calls', raw.log_calls),
  });
}

const SECTIONS = ['gateway', 'docker'];

function parseSections(text: string): Record<string, Record<string, unknown>> {
  const doc = ini.parse(text) as Record<string, unknown>;
  for (const k of Object.keys(doc)) {
    if (!SECTIONS.includes(k)) fail('FAASS_E_CONFIG_INVALID', `Unexpected ${typeof doc[k] === 'object' ? 'section [' + k + ']' : 'key ' + JSON.stringify(k)} in faass.conf; expected [gateway] and [docker]`);
  }
  return Object.fromEntries(SECTIONS.map((s) => [s, { ...((doc[s] ?? {}) as Record<string, unknown>) }]));
}

export function parseGatewayIni(text: string): Record<string, unknown> {
  return parseSections(text).gateway;
}

function readSections(paths: Paths): Record<string, Record<string, unknown>> {
  try {
    return parseSections(fs.readFileSync(gatewayConfPath(paths), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { gateway: {}, docker: {} };
    if (e instanceof FaassError) throw new FaassError(e.code, `${gatewayConfPath(paths)}: ${e.message}`);
    throw e;
  }
}

export function readGatewayIni(paths: Paths): Record<string, unknown> {
  return readSections(paths).gateway;
}

export interface DockerConfig {
  readonly socketPath: string; // the Docker Engine API socket
}

// [docker] host= as DOCKER_HOST writes it (unix:///path) or a plain path; default: the
// environment's DOCKER_HOST, then /var/run/docker.sock.
export function loadDockerConfig(paths: Paths, env: NodeJS.ProcessEnv = process.env): DockerConfig {
  const raw = readSections(paths).docker;
  for (const k of Object.keys(raw)) if (k !== 'host') fail('FAASS_E_CONFIG_INVALID', `${gatewayConfPath(paths)}: Unknown key ${JSON.stringify(k)} in [docker]; known keys: host`);
  const given = raw.host ?? env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const s = typeof given === 'string' ? given.replace(/^unix:\/\//, '') : '';
  if (!s.startsWith('/') || /[\x00-\x1f]/.test(s)) fail('FAASS_E_CONFIG_INVALID', `${gatewayConfPath(paths)}: Invalid [docker] host ${JSON.stringify(given)}: expected unix:///path/to/docker.sock`);
  return { socketPath: s };
}

export function loadGatewayConfig(paths: Paths): GatewayConfig {
  const raw = readGatewayIni(paths);
  try {
    return buildGatewayConfig(raw);
  } catch (e) {
    if (e instanceof FaassError) throw new FaassError(e.code, `${gatewayConfPath(paths)}: ${e.message}`);
    throw e;
  }
}

export function renderGatewayIni(raw: Record<string, unknown>, docker: Record<string, unknown> = {}): string {
  const sort = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
  const doc: Record<string, unknown> = { gateway: sort(raw) };
  if (Object.keys(docker).length) doc.docker = sort(docker);
  return '# faass settings (faass.conf(5))\n' + ini.stringify(doc);
}

export function readDockerIni(paths: Paths): Record<string, unknown> {
  return readSections(paths).docker;
}
