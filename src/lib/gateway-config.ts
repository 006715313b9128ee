import * as fs from 'node:fs';
import * as ini from 'ini';
import { fail, FaassError } from './errors';
import { Paths, gatewayConfPath } from './paths';
import { Address, address, number, size } from './validate';

export interface GatewayConfig {
  readonly listen: Address;
  readonly idle: number; // seconds without connections before the gateway exits; 0 = never
  readonly timeout: number; // seconds to wait for a function's answer
  readonly maxBody: number; // bytes
}

export const GATEWAY_DEFAULTS = { listen: '127.0.0.1:8080', idle: 10, timeout: 60, maxBody: '10M' };
const KEYS = ['listen', 'idle', 'timeout', 'max_body'];

export function buildGatewayConfig(raw: Record<string, unknown>): GatewayConfig {
  for (const k of Object.keys(raw)) {
    if (!KEYS.includes(k)) fail('FAASS_E_CONFIG_INVALID', `Unknown key ${JSON.stringify(k)} in [gateway]; known keys: ${KEYS.join(', ')}`);
  }
  return Object.freeze({
    listen: address('listen', raw.listen ?? GATEWAY_DEFAULTS.listen),
    idle: raw.idle === undefined ? GATEWAY_DEFAULTS.idle : number('idle', raw.idle, 0, 86400),
    timeout: raw.timeout === undefined ? GATEWAY_DEFAULTS.timeout : number('timeout', raw.timeout, 0.1, 86400),
    maxBody: size('max_body', raw.max_body ?? GATEWAY_DEFAULTS.maxBody, 0, 1024 ** 3),
  });
}

export function parseGatewayIni(text: string): Record<string, unknown> {
  const doc = ini.parse(text) as Record<string, unknown>;
  for (const k of Object.keys(doc)) {
    if (k !== 'gateway') fail('FAASS_E_CONFIG_INVALID', `Unexpected ${typeof doc[k] === 'object' ? 'section [' + k + ']' : 'key ' + JSON.stringify(k)} in faass.conf; expected [gateway]`);
  }
  return { ...((doc.gateway ?? {}) as Record<string, unknown>) };
}

export function readGatewayIni(paths: Paths): Record<string, unknown> {
  try {
    return parseGatewayIni(fs.readFileSync(gatewayConfPath(paths), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    if (e instanceof FaassError) throw new FaassError(e.code, `${gatewayConfPath(paths)}: ${e.message}`);
    throw e;
  }
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

export function renderGatewayIni(raw: Record<string, unknown>): string {
  const sorted = Object.fromEntries(Object.entries(raw).sort(([a], [b]) => (a < b ? -1 : 1)));
  return '# faass gateway settings (faass.conf(5))\n' + ini.stringify({ gateway: sorted });
}
