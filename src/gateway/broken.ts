// The gateway when faass's configuration is broken (a bad faass.conf, an unreadable or invalid TLS
// key pair): it still takes the sockets systemd passed and gets ready, answers every request 503
// with the reason (FAASS_E_CONFIG_BROKEN: the file and what is wrong), and exits idle as usual.
// It never exits non-zero for a bad file: a unit that fails at every start reaches its start limit
// under load, and systemd then fails its socket too, refusing every connection until someone runs
// reset-failed. It lives at most BROKEN_LIFETIME seconds, so under constant load a fixed file is
// read by the next start: one start per BROKEN_LIFETIME, far under the start limit.
import * as fs from 'node:fs';
import * as http from 'node:http';
import { FaassError } from '../core/errors';
import { Paths } from '../core/paths';
import { readSettingsIni } from '../core/settings';
import { sendFaassError } from '../core/http-util';
import { BROKEN_LIFETIME, InheritedFd, Lifecycle, listenOn } from '../systemd/activation';
import { log } from '../observe/log';
import { tlsServerOptions } from './tls-options';

// An https socket speaks TLS to its clients even now, when the key pair named in faass.conf can
// be read; else its clients get a handshake error (the journal says why).
function httpsServer(paths: Paths, opts: http.ServerOptions): http.Server | null {
  try {
    const raw = readSettingsIni(paths);
    const cert = fs.readFileSync(String(raw.tls_cert));
    const key = fs.readFileSync(String(raw.tls_key));
    return (require('node:https') as typeof import('node:https')).createServer({ ...opts, ...tlsServerOptions({ cert, key }) });
  } catch {
    return null;
  }
}

export async function serveBroken(paths: Paths, fds: InheritedFd[], idle: number, error: FaassError): Promise<void> {
  log.err(`Answering 503 to every request until the configuration is fixed: ${error.message}`);
  const lifecycle = new Lifecycle({ name: 'gateway', idleSeconds: idle, drainSeconds: 5, lifetimeSeconds: BROKEN_LIFETIME, status: () => `configuration broken: ${error.message}` });
  const answer: http.RequestListener = (req, res) => {
    req.resume();
    res.shouldKeepAlive = false; // each request on a new connection: after a fix, to the next gateway
    sendFaassError(res, error, { 'retry-after': String(BROKEN_LIFETIME) });
  };
  const opts = { keepAliveTimeout: 500, headersTimeout: 10000, requestTimeout: 30000 };
  for (const f of fds) {
    // The console's socket speaks TLS whenever the gateway has TLS (main.ts), so it does here too.
    const server = ((f.name === 'https' || f.name === 'console') && httpsServer(paths, opts)) || http.createServer(opts);
    lifecycle.track(server);
    lifecycle.trackHttp(server);
    server.on('request', answer);
    await listenOn(server, { fd: f.fd });
  }
  lifecycle.ready();
}
