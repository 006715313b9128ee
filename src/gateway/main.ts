#!/usr/bin/env node
// faass-gateway(8): routes HTTP requests to function sockets; takes its socket from systemd, exits when idle.
import * as http from 'node:http';
import { parseArgs } from 'node:util';
import { resolvePaths } from '../lib/paths';
import { loadGatewayConfig } from '../lib/gateway-config';
import { FaassError } from '../lib/errors';
import { Lifecycle, listenOn, takeInheritedFds } from '../lib/activation';
import { address, number } from '../lib/validate';
import { log, errorMessage } from '../lib/log';
import { Gateway } from './proxy';

const USAGE = 'Usage: faass-gateway [--listen ADDRESS] [--idle SECONDS]; see faass-gateway(8)';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { listen: { type: 'string' }, idle: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const fds = takeInheritedFds();
  const paths = resolvePaths();
  const cfg = loadGatewayConfig(paths);
  const idle = values.idle !== undefined ? number('--idle', values.idle, 0, 86400) : cfg.idle;
  const gateway = new Gateway(cfg, paths);
  const lifecycle = new Lifecycle({ name: 'gateway', idleSeconds: idle, drainSeconds: cfg.timeout + 1, onExit: () => gateway.close() });
  const targets = fds.length > 0 ? fds.map((f) => ({ fd: f.fd })) : [values.listen ? address('--listen', values.listen) : cfg.listen];
  // Keep-alive clients are let go before the idle time runs, so they cannot pin the gateway.
  const keepAlive = Math.max(500, Math.min(5000, idle > 0 ? idle * 500 : 5000));
  for (const target of targets) {
    const server = http.createServer({ keepAliveTimeout: keepAlive, headersTimeout: 10000, requestTimeout: (cfg.timeout + 30) * 1000 });
    lifecycle.track(server);
    lifecycle.trackHttp(server);
    server.on('request', gateway.handle);
    await listenOn(server, target);
  }
  lifecycle.ready();
  log.info(`Gateway serving on ${fds.length > 0 ? `${fds.length} socket(s) from systemd` : targets.map((t) => ('text' in t ? t.text : '')).join(', ')}, idle exit after ${idle}s`);
}

main().catch((e) => {
  log.err(`Failed to start faass-gateway: ${errorMessage(e)}`);
  process.exit(e instanceof FaassError ? e.exitCode : 1);
});
