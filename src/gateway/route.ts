// Where a request goes, from its URL and headers only (no file, no credential): the gateway's
// own endpoints, the management API, or a function by /function/NAME[/rest], /lambda/NAME[/rest]
// (the original faass's path) or any path with the header X-Function: NAME; queued for later by
// /async-function/NAME[/rest] (OpenFaaS's path); published to a topic's subscribers by /topic/T.
import type * as http from 'node:http';
import { FaassError } from '../core/errors';
import { isValidName, invalidName, validateTopic } from '../core/validate';

export interface Route {
  name: string;
  path: string; // path passed to the function, with the query
}

export type Destination =
  | { to: 'health' }
  | { to: 'metrics' } // only with metrics on; otherwise /metrics is a path like any other
  | { to: 'api' }
  | { to: 'ui' } // the web console (console.ts): /ui and /ui/..., never a function's path
  | ({ to: 'function' } & Route)
  | ({ to: 'async' } & Route) // queued (queue/spool.ts), answered 202 once it is on disk
  | { to: 'topic'; topic: string; path: string } // a call queued per subscriber (publish.ts)
  | { to: 'nowhere'; error: FaassError }; // answered at once, with the error's status

const isPath = (url: string, p: string) => url === p || url.startsWith(p + '?');

const isApiPath = (url: string): boolean => url.startsWith('/system/') || url.startsWith('/api/') || url === '/system' || url === '/api';

// A metrics scrape or a health check: answered, but no reason to stay up (activation.ts). Decided
// by the route itself: with metrics off, GET /metrics + X-Function is a call like any other.
export function isPassive(req: http.IncomingMessage, opts: { metrics: boolean }): boolean {
  const url = req.url ?? '';
  // Cheap checks first: this runs for every request, and a call is never passive.
  if ((req.method !== 'GET' && req.method !== 'HEAD') || !(isPath(url, '/metrics') || isPath(url, '/healthz'))) return false;
  const to = routeOf(url, req.headers['x-function'], opts).to;
  return to === 'health' || to === 'metrics';
}

export function routeOf(url: string, xFunction: string | string[] | undefined, opts: { metrics: boolean }): Destination {
  if (isPath(url, '/healthz')) return { to: 'health' };
  if (isPath(url, '/metrics') && opts.metrics) return { to: 'metrics' };
  if (isApiPath(url)) return { to: 'api' };
  if (url === '/ui' || url.startsWith('/ui/') || url.startsWith('/ui?')) return { to: 'ui' };
  const topic = parseTopicRoute(url);
  if (topic) return topic;
  const queued = parseAsyncRoute(url);
  const route = queued ?? parseRoute(url, xFunction);
  if (!route) return { to: 'nowhere', error: new FaassError('FAASS_E_ROUTE_MISSING', 'No function named: use /function/NAME, /lambda/NAME, /async-function/NAME or the X-Function header') };
  // The name is decoded first, so a %2F or %2E%2E is refused here, never made into a path.
  if (!isValidName(route.name)) return { to: 'nowhere', error: invalidName(route.name) };
  return { to: queued ? 'async' : 'function', ...route };
}

// /topic/T[?query]: the topic decoded, then judged by the one rule (validate.ts).
function parseTopicRoute(url: string): Destination | null {
  const q = url.indexOf('?');
  const m = /^\/topic\/([^/]*)$/.exec(q >= 0 ? url.slice(0, q) : url);
  if (!m) return null;
  try {
    return { to: 'topic', topic: validateTopic(decodeSegment(m[1])), path: '/' + (q >= 0 ? url.slice(q) : '') };
  } catch (e) {
    return { to: 'nowhere', error: e as FaassError };
  }
}

function parseAsyncRoute(url: string): Route | null {
  const q = url.indexOf('?');
  const m = /^\/async-function\/([^/]*)(\/.*)?$/.exec(q >= 0 ? url.slice(0, q) : url);
  return m ? { name: decodeSegment(m[1]), path: (m[2] || '/') + (q >= 0 ? url.slice(q) : '') } : null;
}

export function parseRoute(url: string, xFunction: string | string[] | undefined): Route | null {
  const header = Array.isArray(xFunction) ? xFunction[0] : xFunction;
  const q = url.indexOf('?');
  const pathname = q >= 0 ? url.slice(0, q) : url;
  const query = q >= 0 ? url.slice(q) : '';
  const m = /^\/(?:function|lambda)\/([^/]*)(\/.*)?$/.exec(pathname);
  if (m) return { name: decodeSegment(m[1]), path: (m[2] || '/') + query };
  if (header !== undefined) return { name: header.trim(), path: url || '/' };
  return null;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
