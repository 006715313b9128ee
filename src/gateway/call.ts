// One call on its way to a function or service, as the forwarders take it.
export interface ForwardedCall {
  id: string; // X-Call-Id
  name: string; // the function
  method: string;
  path: string; // with the query
  headers: Record<string, string>; // already cleaned (headers.ts)
  body: Buffer;
}

// Pooled connections to a function's socket (a runner's or a service's proxy) close after this
// long unused: well before any runner's idle time (at least 1 s) and the proxy's
// --exit-idle-time, so a warm gateway never keeps a function awake, and the pooling side always
// drops first (no keep-alive race on the other side's close).
export const POOL_IDLE_MS = 400;
