// What a function may set in its answer, seen on the wire: a framed exec function, a node and a
// python handler each try statuses a client must never get from them (1xx), bodiless ones (204,
// 304), their own X-Call-Id and hop-by-hop headers. The client here is a raw socket, one
// keep-alive connection per function, so a desynchronised connection shows: the next answer on
// it would not start where it should.
import t from 'tap';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { startSandbox, setupGateway, writeFixture, waitFor, errorCode } from '../support/sandbox';
import { within } from '../support/within';

// Call ids of this run only: `faassctl logs FN --call ID` selects by unit and uid, which every
// sandbox of the same user shares, so a fixed id (framed-3) would find an earlier run's line.
const RUN = randomBytes(4).toString('hex');

interface RawAnswer {
  status: number;
  head: string; // the status line and headers as sent
  headers: [string, string][]; // in order, names lowercased, duplicates kept
  body: Buffer;
}

// One HTTP/1.1 connection read by hand. An answer's body is framed as RFC 9112 6.3 says a
// client must read it: none for HEAD, 1xx, 204 and 304, else Content-Length bytes, else chunks.
class RawConnection {
  private buf: Buffer = Buffer.alloc(0);
  private closed = false;
  private wake: () => void = () => undefined; // need()'s waiter: one, not a listener per wait
  readonly socket: net.Socket;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    this.socket.on('error', () => undefined);
  }

  private async need(n: number | (() => number)): Promise<void> {
    const want = () => (typeof n === 'number' ? n : n());
    while (want() < 0 || this.buf.length < want()) {
      if (this.closed) throw new Error(`connection closed with ${this.buf.length} bytes unread: ${JSON.stringify(this.buf.toString('latin1'))}`);
      await within(new Promise<void>((resolve) => (this.wake = resolve)), 'more of the answer');
    }
  }

  private take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async ask(method: string, path: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
    const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    this.socket.write(lines.join('\r\n') + '\r\n\r\n');
    await this.need(() => this.buf.indexOf('\r\n\r\n') + 4 || -1);
    const head = this.take(this.buf.indexOf('\r\n\r\n') + 4).toString('latin1');
    const [statusLine, ...fields] = head.trimEnd().split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const parsed = fields.map((f): [string, string] => [f.slice(0, f.indexOf(':')).trim().toLowerCase(), f.slice(f.indexOf(':') + 1).trim()]);
    const get = (name: string) => parsed.find(([k]) => k === name)?.[1];
    let body: Buffer = Buffer.alloc(0);
    if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return { status, head, headers: parsed, body };
    if (get('content-length') !== undefined) {
      const n = Number(get('content-length'));
      await this.need(n);
      body = this.take(n);
    } else if (get('transfer-encoding') === 'chunked') {
      for (;;) {
        await this.need(() => this.buf.indexOf('\r\n') + 2 || -1);
        const size = parseInt(this.take(this.buf.indexOf('\r\n') + 2).toString(), 16);
        await this.need(size + 2);
        body = Buffer.concat([body, this.take(size)]);
        this.take(2);
        if (size === 0) break;
      }
    }
    return { status, head, headers: parsed, body };
  }

  close(): void {
    this.socket.destroy();
  }
}

const all = (a: RawAnswer, name: string) => a.headers.filter(([k]) => k === name).map(([, v]) => v);

// Every fixture answers status ?s= (200 by default) with body ?b= ("hi" by default), and sets
// its own X-Call-Id and every framing header it should not.
const FUNCTION_HEADERS = `{"X-Call-Id": "from-the-function", "x-duration-seconds": "99", "Connection": "close, X-Hop", "X-Hop": "hop", "Transfer-Encoding": "chunked", "Content-Length": "999", "Upgrade": "h2c", "Keep-Alive": "timeout=1", "X-Mine": "yes"}`;

t.test('answers a function sets', async (t) => {
  const sb = await startSandbox(t);
  await setupGateway(sb, 1);
  const framed = writeFixture(
    sb,
    'answers/framed.py',
    `#!/usr/bin/python3
import json, os, struct, sys, urllib.parse
sys.stdin.read()
q = dict(urllib.parse.parse_qsl(os.environ.get("Http_Query", "")))
h = json.dumps({"code": int(q.get("s", "200")), "headers": ${FUNCTION_HEADERS}}).encode()
b = q.get("b", "hi").encode()
sys.stdout.buffer.write(struct.pack(">I", len(h)) + h + struct.pack(">I", len(b)) + b)
`,
    0o755,
  );
  const node = writeFixture(
    sb,
    'answers/handler.js',
    `exports.handler = (event) => {
  const q = new URLSearchParams(event.query);
  return { statusCode: Number(q.get('s') ?? '200'), headers: ${FUNCTION_HEADERS}, body: q.get('b') ?? 'hi' };
};
`,
  );
  const python = writeFixture(
    sb,
    'answers/handler.py',
    `import urllib.parse
def handle(event, context):
    q = dict(urllib.parse.parse_qsl(event["query"]))
    return {"statusCode": int(q.get("s", "200")), "headers": ${FUNCTION_HEADERS}, "body": q.get("b", "hi")}
`,
  );
  const deploys: string[][] = [
    ['deploy', 'framed', '--runtime', 'exec', '--from-file', framed, '--protocol', 'framed', '--idle', '5'],
    ['deploy', 'nodefn', '--runtime', 'node', '--from-file', node, '--handler', 'handler', '--idle', '5'],
    ['deploy', 'pyfn', '--runtime', 'python', '--from-file', python, '--idle', '5'],
  ];
  for (const args of deploys) {
    const r = await sb.faassctl(...args);
    t.equal(r.code, 0, `faassctl ${args.slice(0, 2).join(' ')}: ${r.stderr}`);
  }

  for (const fn of ['framed', 'nodefn', 'pyfn']) {
    t.test(fn, async (t) => {
      const c = new RawConnection(sb.port);
      t.teardown(() => c.close());
      let n = 0;
      const ask = async (query: string, method = 'GET') => {
        const id = `${fn}-${RUN}-${++n}`;
        const a = await c.ask(method, `/function/${fn}?${query}`, { 'X-Call-Id': id });
        t.same(all(a, 'x-call-id'), [id], `${method} ${query}: exactly one X-Call-Id, the call's`);
        t.same(all(a, 'x-duration-seconds').length, 1, `${method} ${query}: one X-Duration-Seconds, faass's`);
        t.not(all(a, 'x-duration-seconds')[0], '99');
        return { a, id };
      };
      // A plain answer: the function's own header passes, its framing headers do not.
      const good = async (what: string) => {
        const { a } = await ask('s=200');
        t.equal(a.status, 200, `${what}: the next answer on the connection is the right one`);
        t.equal(a.body.toString(), 'hi', `${what}: with its body`);
        t.same(all(a, 'x-mine'), ['yes'], "the function's own header is passed on");
        t.same(all(a, 'content-length'), ['2'], 'Content-Length is the body faass sends, not the function\'s');
        t.same(all(a, 'transfer-encoding'), [], 'no Transfer-Encoding from the function');
        t.same(all(a, 'upgrade'), [], 'no Upgrade from the function');
        t.same(all(a, 'x-hop'), [], 'no header the function named in Connection');
        t.notMatch(all(a, 'connection').join(','), /close|x-hop/i, 'Connection is the gateway\'s, not the function\'s');
        t.notMatch(all(a, 'keep-alive').join(','), /timeout=1\b/, 'Keep-Alive is the gateway\'s, not the function\'s');
      };
      await good('first call');
      let refused101 = '';
      for (const s of [101, 100, 199]) {
        const { a, id } = await ask(`s=${s}`);
        t.equal(a.status, 502, `a function answering ${s}: 502`);
        t.equal(errorCode(a.body.toString()), 'FAASS_E_STATUS_INVALID', `${s}: the error says why`);
        t.match(a.body.toString(), new RegExp(`status ${s}\\b`), `${s}: and names the status`);
        if (s === 101) refused101 = id;
        await good(`after ${s}`);
      }
      for (const s of [204, 304]) {
        const { a } = await ask(`s=${s}&b=oops`);
        t.equal(a.status, s, `${s} is passed on`);
        t.same(all(a, 'content-length'), [], `${s}: no Content-Length`);
        t.same(all(a, 'transfer-encoding'), [], `${s}: no Transfer-Encoding`);
        await good(`after ${s} (its body was not sent)`);
      }
      const { a: head } = await ask('s=200', 'HEAD');
      t.equal(head.status, 200, 'HEAD');
      t.same(all(head, 'content-length'), ['2'], 'HEAD: the length a GET would get');
      await good('after HEAD (no body was sent)');
      // Read the journal only when the connection's sequence is done: waiting for it in between
      // left the connection idle past the gateway's keep-alive timeout on a slow machine, and the
      // gateway rightly closed it.
      const logs = async () => (await sb.faassctl('logs', fn, '--call', refused101)).stdout;
      await waitFor(`the call line of ${refused101}`, async () => (await logs()).includes(`call=${refused101} `), 30000);
      t.match(await logs(), new RegExp(`call=${refused101} function=${fn} status=502 .*error=FAASS_E_STATUS_INVALID reason=".*status 101`), 'the journal says which status the function tried');
    });
  }
});
