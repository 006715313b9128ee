// faassctl init: create or update the gateway settings (faass.conf).
import { Paths, gatewayConfPath } from '../core/paths';
import { METRICS_ACCESS, Settings, buildSettings, gatewayPorts, loadSettings, readSettingsIni, readDockerIni, writeSettings } from '../core/settings';
import { FunctionConfig, listFunctionNames, loadFunctionConfig } from '../functions/function-config';
import { checkGatewayPorts } from '../functions/deploy-plan';
import { Register } from './cli';
import { FaassError } from '../core/errors';
import { Address } from '../core/validate';
import * as net from 'node:net';
import * as fs from 'node:fs';
import { applyUnits } from '../functions/deploy';
import { sayApplied } from './report';

// Creates or updates faass.conf; keys not given keep their value.
export async function init(paths: Paths, a: { listen?: string; port?: number; idle?: string; dockerHost?: string; buildTimeout?: string; tlsListen?: string; httpRedirect?: boolean; metrics?: boolean; metricsAccess?: string; logCalls?: boolean; consolePort?: number; consoleListen?: string }): Promise<number> {
  checkPort('--port', a.port);
  checkPort('--console-port', a.consolePort);
  const raw = readSettingsIni(paths);
  const docker = readDockerIni(paths);
  if (a.tlsListen === '') delete raw.tls_listen;
  else if (a.tlsListen !== undefined) raw.tls_listen = a.tlsListen;
  if (a.httpRedirect !== undefined) raw.http_redirect = a.httpRedirect ? 'yes' : 'no';
  if (raw.tls_listen === undefined) delete raw.http_redirect;
  // The web console's own address (opt-in): --console-listen "" turns it off.
  if (a.consoleListen === '') delete raw.console_listen;
  else if (a.consoleListen !== undefined) raw.console_listen = a.consoleListen;
  else if (a.consolePort !== undefined) raw.console_listen = `127.0.0.1:${a.consolePort}`;
  if (a.dockerHost !== undefined) docker.host = a.dockerHost;
  if (a.buildTimeout !== undefined) docker.build_timeout = a.buildTimeout;
  if (a.listen !== undefined) raw.listen = a.listen;
  else if (a.port !== undefined) raw.listen = `127.0.0.1:${a.port}`;
  else if (raw.listen === undefined) raw.listen = '127.0.0.1:8080';
  if (a.metrics !== undefined) raw.metrics = a.metrics ? 'yes' : 'no';
  if (a.metricsAccess !== undefined) raw.metrics_access = a.metricsAccess;
  if (a.logCalls !== undefined) raw.log_calls = a.logCalls ? 'yes' : 'no';
  if (a.idle !== undefined) raw.idle = String(a.idle);
  else if (raw.idle === undefined) raw.idle = '10';
  const next = buildSettings(raw);
  checkGatewayPorts(newPorts(paths, next), deployedConfigs(paths));
  await checkBindable(newAddresses(paths, next));
  writeSettings(paths, raw, docker); // checked whole before it is written: a bad input leaves the old file
  process.stdout.write(`Gateway settings in ${gatewayConfPath(paths)}: listen=${raw.listen}${raw.console_listen !== undefined ? ` console_listen=${String(raw.console_listen)}` : ''} idle=${raw.idle}\n`);
  // The units follow at once: the gateway's sockets (listen, tls_listen, console_listen), and what every function
  // unit hides of the container engine (units.ts noEngine).
  sayApplied(await applyUnits(paths, { reload: true }), 'Units updated');
  return 0;
}

// yargs reads a number option that is not one as NaN: said here, before it becomes "127.0.0.1:NaN".
function checkPort(flag: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= 65535)) throw new FaassError('FAASS_E_USAGE', `${flag} takes a port number from 1 to 65535`);
}

// The gateway's TCP ports this init adds (all of them when faass.conf is unreadable): a port kept
// as it was was checked by every deploy since, so a service there predates the rule and an init
// of another key does not trip over it.
function newPorts(paths: Paths, next: Settings): number[] {
  let old: number[] = [];
  try {
    old = gatewayPorts(loadSettings(paths));
  } catch {
    /* unreadable: every port is new */
  }
  return gatewayPorts(next).filter((p) => !old.includes(p));
}

// The gateway's TCP addresses this init adds (as newPorts).
function newAddresses(paths: Paths, next: Settings): Address[] {
  const ports = newPorts(paths, next);
  return [next.listen, next.tls?.listen, next.consoleListen].flatMap((a) => (a?.kind === 'tcp' && ports.includes(a.port) ? [a] : []));
}

// A new address is bound here first, as this user (the user manager binds the sockets as the
// same user): one it cannot take (a port below 1024 without the privilege, one another program
// holds, an address not on this host) is refused before faass.conf changes. Written first, the
// gateway's socket then failed to start, and the old port was gone with it.
async function checkBindable(addresses: Address[]): Promise<void> {
  for (const a of addresses) {
    if (a.kind !== 'tcp') continue;
    let why = await bindError(a.host, a.port);
    // A bare PORT is '::' (any address); systemd falls back to IPv4 on a host without IPv6.
    if (a.host === '::' && (why === 'EAFNOSUPPORT' || why === 'EADDRNOTAVAIL')) why = await bindError('0.0.0.0', a.port);
    if (why === null) continue;
    const hint = why === 'EACCES' ? `: ports below ${unprivilegedPortStart()} need privileges this user does not have` : why === 'EADDRINUSE' ? ': another program listens there (ss -ltnp)' : why === 'EADDRNOTAVAIL' ? ': no such address on this host' : '';
    throw new FaassError('FAASS_E_CONFIG_INVALID', `Cannot listen on ${a.text} (${why})${hint}; faass.conf is left as it was`);
  }
}

function bindError(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

function unprivilegedPortStart(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()) || 1024;
  } catch {
    return 1024;
  }
}

// Every function whose file reads; a broken one (answering 503 until fixed) holds no port now.
const deployedConfigs = (paths: Paths): FunctionConfig[] =>
  listFunctionNames(paths).flatMap((n) => {
    try {
      return [loadFunctionConfig(paths, n)];
    } catch {
      return [];
    }
  });

export const register: Register = (y, cli) =>
  y.command(
    'init',
    'create or update the gateway settings (faass.conf)',
    (y) =>
      y
        .option('port', { type: 'number', describe: 'gateway port on 127.0.0.1' })
        .option('listen', { type: 'string', describe: 'gateway address: HOST:PORT, [V6]:PORT or /path' })
        .option('idle', { type: 'string', describe: 'gateway idle exit: seconds or a systemd time span such as 30s, 5min (0 = never)' })
        .option('docker-host', { type: 'string', describe: 'Docker Engine socket, unix:///path' })
        .option('build-timeout', { type: 'string', describe: 'an image build is cancelled after this time span (default 10min)' })
        .option('tls-listen', { type: 'string', describe: 'HTTPS on a second address (needs a key pair: faassctl tls self-signed); "" = off' })
        .option('console-port', { type: 'number', describe: 'the web console on its own port on 127.0.0.1 (off unless given)' })
        .option('console-listen', { type: 'string', describe: 'the web console on its own address: HOST:PORT, [V6]:PORT or /path; "" = off' })
        .option('http-redirect', { type: 'boolean', describe: 'with --tls-listen: plain HTTP redirects to HTTPS' })
        .option('metrics', { type: 'boolean', describe: 'GET /metrics and the counting behind it (default on; --no-metrics)' })
        .option('metrics-access', { type: 'string', choices: METRICS_ACCESS, describe: 'who reads /metrics: filtered (anyone; protected functions for admins only), admin, open' })
        .option('log-calls', { type: 'boolean', describe: 'one journal line per call (default on; --no-log-calls)' }),
    (a) => cli.local(a, 'init', () => init(cli.paths, a)),
  );
