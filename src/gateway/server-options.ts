// The gateway's HTTP server settings, for its own servers (main.ts) and a faassctl image's
// (image/serve.ts), so connections behave alike in both.
import type * as http from 'node:http';

// idleSeconds: the gateway's idle exit (0: none, as in an image). Keep-alive clients are let go
// before the idle time runs, so they cannot pin the gateway. A connection that sends no headers
// (nothing at all, or a dribble) is answered 408 and closed after headers_timeout; Node looks
// every connectionsCheckingInterval (30 s by default, which let a silent connection live 40 s),
// here every second.
export function serverOptions(gw: { timeout: number; headersTimeout: number }, idleSeconds: number): http.ServerOptions {
  const keepAlive = Math.max(500, Math.min(5000, idleSeconds > 0 ? idleSeconds * 500 : 5000));
  return { keepAliveTimeout: keepAlive, headersTimeout: gw.headersTimeout * 1000, requestTimeout: Math.max(gw.timeout + 30, gw.headersTimeout) * 1000, connectionsCheckingInterval: 1000 };
}
