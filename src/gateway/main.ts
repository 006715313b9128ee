#!/usr/bin/env node
// faass-gateway(8): routes HTTP requests to function sockets; takes its socket from systemd, exits when idle.
import * as http from 'node:http';
import { serverOptions } from './server-options';
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { Paths, resolvePaths, gatewayConfPath } from '../core/paths';
import { Settings, idleOrDefault, loadSettings } from '../core/settings';
import { FaassError, isBroken } from '../core/errors';
import { InheritedFd, Lifecycle, listenOn, takeInheritedFds, warnUnexpectedFds } from '../systemd/activation';
import { Address, address, number } from '../core/validate';
import { log, logWithFields, errorMessage, exitAfterLog } from '../observe/log';
import { Gateway } from './gateway';
import { continueWhenRead } from '../core/http-util';
import { isPassive } from './route';
import { ConnectionGuard, connectionBound, readDescriptorLimit } from './connections';
import { serveBroken } from './broken';
import { tlsServerOptions } from './tls-options';

const USAGE = 'Usage: faass-gateway [--listen ADDRESS] [--idle SECONDS]; see faass-gateway(8)';

// http_redirect: every plain HTTP request is sent to the same path over HTTPS (308 keeps the
// method and body).
function redirectTo(port: number): http.RequestListener {
  return (req, res) => {
    req.resume();
    const host = (req.headers.host ?? '127.0.0.1').replace(/:\d+$/, '');
    const safeHost = /^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/.test(host) ? host : '127.0.0.1';
    res.writeHead(308, { location: `https://${safeHost}:${port}${req.url ?? '/'}`, 'content-length': '0' });
    res.end();
  };
}

interface Setup {
  cfg: Settings;
  targets: { target: { fd: number } | Address; name: string }[];
  tls: { cert: Buffer; key: Buffer } | null;
}

// The names units.ts gives the gateway's sockets (FileDescriptorName=); any other is served as http.
const FD_NAMES = ['http', 'https', 'console'];

// What the configuration makes of the sockets, read and checked before any is taken; a bad file
// (faass.conf, the key pair) is FAASS_E_CONFIG_BROKEN.
function configured(paths: Paths, fds: InheritedFd[], listen: string | undefined): Setup {
  const cfg = loadSettings(paths);
  // What each socket speaks: systemd names them (FileDescriptorName=); without systemd, the
  // settings say. HTTPS needs the key pair, read once here.
  const main = cfg.tls && !cfg.tls.listen ? 'https' : 'http';
  // console: the web console's own address (console_listen), HTTPS when TLS is configured.
  const named = (n: string) => (n === 'https' || n === 'console' ? n : 'http'); // another name: said at start (FD_NAMES)
  const targets: Setup['targets'] =
    fds.length > 0
      ? fds.map((f) => ({ target: { fd: f.fd }, name: named(f.name) }))
      : [{ target: listen ? address('--listen', listen) : cfg.listen, name: main }, ...(cfg.tls?.listen ? [{ target: cfg.tls.listen, name: 'https' }] : []), ...(cfg.consoleListen ? [{ target: cfg.consoleListen, name: 'console' }] : [])];
  if (!targets.some((t) => t.name === 'https' || (t.name === 'console' && cfg.tls))) return { cfg, targets, tls: null };
  const conf = gatewayConfPath(paths);
  if (!cfg.tls) throw new FaassError('FAASS_E_CONFIG_BROKEN', `${conf}: systemd passed an https socket, but no tls_cert and tls_key are set; run faassctl generate-units`);
  let tls: { cert: Buffer; key: Buffer };
  try {
    tls = { cert: fs.readFileSync(cfg.tls.cert), key: fs.readFileSync(cfg.tls.key) };
  } catch (e) {
    throw new FaassError('FAASS_E_CONFIG_BROKEN', `${conf}: cannot read the TLS key pair (tls_cert, tls_key): ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`);
  }
  try {
    (require('node:tls') as typeof import('node:tls')).createSecureContext(tlsServerOptions(tls));
  } catch (e) {
    throw new FaassError('FAASS_E_CONFIG_BROKEN', `${conf}: invalid TLS key pair (tls_cert, tls_key): ${errorMessage(e)}`);
  }
  return { cfg, targets, tls };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { listen: { type: 'string' }, idle: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const fds = takeInheritedFds();
  logWithFields({ SYSLOG_IDENTIFIER: 'faass-gateway' });
  warnUnexpectedFds(fds, FD_NAMES, { fallback: 'http (functions)' });
  const paths = resolvePaths();
  const idleArg = values.idle !== undefined ? number('--idle', values.idle, 0, 86400) : undefined;
  let setup: Setup;
  try {
    setup = configured(paths, fds, values.listen);
  } catch (e) {
    // Under systemd a bad file must not fail the unit (broken.ts says why); by hand, it says why and exits 2.
    if (fds.length > 0 && isBroken(e)) return serveBroken(paths, fds, idleArg ?? idleOrDefault(paths), e);
    throw e;
  }
  const { cfg, targets, tls } = setup;
  const idle = idleArg ?? cfg.idle;
  const gateway = new Gateway(cfg, paths);
  const lifecycle = new Lifecycle({ name: 'gateway', idleSeconds: idle, drainSeconds: cfg.timeout + 1, onStop: () => gateway.stopping(), onExit: () => gateway.close(), passive: (req) => isPassive(req, cfg) });
  const httpsPort = cfg.tls?.listen?.kind === 'tcp' ? cfg.tls.listen.port : null;
  // One guard for every socket: they share the process's descriptors.
  const guard = new ConnectionGuard(cfg.maxClientConnections, connectionBound(readDescriptorLimit()));
  const opts = serverOptions(cfg, idle);
  for (const { target, name } of targets) {
    // node:https (and tls) only when used: loading them costs every cold start.
    const secure = (name === 'https' || name === 'console') && tls;
    const server = secure ? (require('node:https') as typeof import('node:https')).createServer({ ...opts, ...tlsServerOptions(tls) }) : http.createServer(opts);
    lifecycle.track(server);
    lifecycle.trackHttp(server);
    guard.track(server);
    // The console's socket alone serves the console (gateway.ts Side); every other, the functions.
    server.on('request', name === 'http' && cfg.tls?.redirect && httpsPort !== null ? redirectTo(httpsPort) : gateway.listener(name === 'console' ? 'console' : 'function'));
    continueWhenRead(server);
    await listenOn(server, target);
  }
  lifecycle.ready();
  log.info(`Gateway serving ${targets.map((t) => t.name).join(' and ')} on ${fds.length > 0 ? `${fds.length} socket(s) from systemd` : targets.map((t) => ('text' in t.target ? t.target.text : '')).join(', ')}, idle exit after ${idle}s, at most ${Number.isFinite(guard.bound) ? guard.bound : 'unbounded'} connections (${cfg.maxClientConnections} per client)`);
}

main().catch((e) => {
  log.err(`Failed to start faass-gateway: ${errorMessage(e)}`);
  exitAfterLog(e instanceof FaassError ? e.exitCode : 1);
});
