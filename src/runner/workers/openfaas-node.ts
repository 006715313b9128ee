// OpenFaaS's node templates' calling conventions (convention= of the function's file), so a
// handler written for them runs unchanged in faass's node worker:
// - openfaas-http (node12 ... node22, of-watchdog): handler(event, context, callback), event
//   {body, headers, method, query, path} with a JSON body parsed, context with status(),
//   headers(), succeed(), fail(); the answer is what succeed()/fail()/callback was given, else
//   the value the handler returned (a handler that takes the callback and returns undefined is
//   waited for: the template would answer it empty at once).
// - openfaas-classic (node, the classic watchdog): handler(body text, callback(err, result)).
// Both answer in faass's handler shape ({statusCode, headers, body}), which node-worker.ts sends.

type Fn = (...args: unknown[]) => unknown;
export interface Answer {
  statusCode: number;
  headers: Record<string, string>;
  body: string | Buffer;
}
interface FaassEvent {
  body: string;
  rawBody: Buffer;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
}

// Objects and arrays go out as JSON, the rest as text (the template's res.send).
function answer(status: number, headers: Record<string, string>, result: unknown): Answer {
  if (Buffer.isBuffer(result)) return { statusCode: status, headers, body: result };
  if (result !== null && typeof result === 'object') return { statusCode: status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(result) };
  return { statusCode: status, headers, body: result === undefined || result === null ? '' : String(result) };
}

// The template's body parsers: JSON parsed, octet-stream as bytes, the rest as text.
function templateBody(e: FaassEvent): unknown {
  const type = e.headers['content-type'] ?? '';
  if (/json/i.test(type)) {
    try {
      return JSON.parse(e.body);
    } catch {
      return e.body;
    }
  }
  return /application\/octet-stream/i.test(type) ? e.rawBody : e.body;
}

// The template's FunctionContext: status and headers set before succeed() or fail().
class FunctionContext {
  statusCode = 200;
  headerValues: Record<string, string> = {};
  constructor(private readonly settle: (err: unknown, result: unknown) => void) {}
  status(code?: number): number | this {
    if (code === undefined) return this.statusCode;
    this.statusCode = code;
    return this;
  }
  headers(values?: Record<string, string>): Record<string, string> | this {
    if (values === undefined) return this.headerValues;
    this.headerValues = values;
    return this;
  }
  succeed(value: unknown): void {
    this.settle(undefined, value);
  }
  fail(value: unknown): void {
    this.settle(value ?? 'failed', undefined);
  }
}

export function callOpenfaasHttp(handler: Fn, e: FaassEvent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let settled = false; // the first of succeed(), fail(), callback and the returned value counts
    const ctx = new FunctionContext((err, result) => {
      if (settled) return;
      settled = true;
      // A failure is the template's 500 (or the status set) with its text.
      if (err !== undefined && err !== null) resolve(answer(ctx.statusCode === 200 ? 500 : ctx.statusCode, ctx.headerValues, err instanceof Error ? err.toString() : err));
      else resolve(answer(ctx.statusCode, ctx.headerValues, result));
    });
    const event = { body: templateBody(e), headers: e.headers, method: e.method, query: Object.fromEntries(new URLSearchParams(e.query)), path: e.path };
    const callback = (err: unknown, result: unknown) => (err ? ctx.fail(err) : ctx.succeed(result));
    Promise.resolve()
      .then(() => handler(event, ctx, callback))
      .then(
        // One that takes the callback and returns nothing answers through it, later.
        (r) => (r === undefined && handler.length >= 3 ? undefined : ctx.succeed(r)),
        (err: unknown) => (settled ? undefined : reject(err)),
      );
  });
}

export function callOpenfaasClassic(handler: Fn, e: FaassEvent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const callback = (err: unknown, result: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(answer(200, {}, result)));
    Promise.resolve()
      .then(() => handler(e.body, callback))
      .catch(reject);
  });
}
