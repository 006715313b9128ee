// One call on its way to a function or service, as the forwarders take it.
export interface ForwardedCall {
  id: string; // X-Call-Id
  name: string; // the function
  method: string;
  path: string; // with the query
  headers: Record<string, string>; // already cleaned (headers.ts)
  body: Buffer;
}
