import * as http from 'node:http';
import * as fs from 'node:fs';
import { Paths } from '../lib/paths';
import { loadGatewayConfig } from '../lib/gateway-config';
import { ERRORS, ErrorCode, FaassError, fail } from '../lib/errors';
import { validateName } from '../lib/validate';

export interface InvokeOptions {
  name: string;
  data?: string; // DATA, @FILE or @- for stdin
  method?: string;
  path?: string;
  headers?: string[];
  token?: string; // NAME.SECRET, sent as a Bearer token (default: $FAASS_TOKEN)
}

function readData(data: string | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  if (!data.startsWith('@')) return Buffer.from(data);
  const file = data.slice(1);
  try {
    return fs.readFileSync(file === '-' ? 0 : file);
  } catch (e) {
    fail('FAASS_E_FILE_MISSING', `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

// Calls a function through the gateway, as any client would; the body goes to stdout.
export function invoke(paths: Paths, o: InvokeOptions): Promise<number> {
  validateName(o.name);
  const gw = loadGatewayConfig(paths);
  const body = readData(o.data);
  const headers: Record<string, string> = { 'content-length': String(body.length) };
  for (const h of o.headers ?? []) {
    const i = h.indexOf(':');
    if (i <= 0) fail('FAASS_E_USAGE', `Invalid header ${JSON.stringify(h)}: expected "Name: value"`);
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  const token = o.token ?? process.env.FAASS_TOKEN;
  if (token !== undefined && headers.authorization === undefined) headers.authorization = `Bearer ${token}`;
  const target = gw.listen.kind === 'unix' ? { socketPath: gw.listen.path } : { host: gw.listen.host === '::' ? '127.0.0.1' : gw.listen.host, port: gw.listen.port };
  const suffix = o.path ? (o.path.startsWith('/') ? o.path : '/' + o.path) : '';
  return new Promise((resolve, reject) => {
    const req = http.request({ ...target, method: o.method ?? 'POST', path: `/function/${o.name}${suffix}`, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const out = Buffer.concat(chunks);
        const status = res.statusCode ?? 0;
        if (status < 400) {
          process.stdout.write(out);
          resolve(0);
          return;
        }
        let code: ErrorCode | undefined;
        let message = out.toString('utf8').trim();
        try {
          const parsed = JSON.parse(message) as { error?: { code?: string; message?: string } };
          if (parsed.error?.code && parsed.error.code in ERRORS) code = parsed.error.code as ErrorCode;
          message = parsed.error?.message ?? message;
        } catch {
          // not a faass error body: the function's own
        }
        process.stderr.write(`faassctl: HTTP ${status}${code ? ' ' + code : ''}: ${message.split('\n')[0]}\n`);
        resolve(code ? ERRORS[code].exit : 5);
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => reject(new FaassError('FAASS_E_FUNCTION_UNREACHABLE', `Cannot reach the gateway at ${gw.listen.text}: ${e.code ?? e.message}; is faass-gateway.socket listening (faassctl status)?`)));
    req.end(body);
  });
}
