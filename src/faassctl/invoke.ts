import * as fs from 'node:fs';
import { ERRORS, fail } from '../core/errors';
import { validateName } from '../core/validate';
import { Target, send, replyError } from './client';
import { Register } from './cli';

export interface InvokeOptions {
  name: string;
  data?: string; // DATA, @FILE or @- for stdin
  method?: string;
  path?: string;
  headers?: string[];
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

// Calls a function through the gateway (local or --gateway), as any client would; the body goes
// to stdout. An error answer: its code's exit status, and the function's own errors exit 5.
export async function invoke(target: Target, o: InvokeOptions): Promise<number> {
  validateName(o.name);
  const body = readData(o.data);
  const headers: Record<string, string> = {};
  for (const h of o.headers ?? []) {
    const i = h.indexOf(':');
    if (i <= 0) fail('FAASS_E_USAGE', `Invalid header ${JSON.stringify(h)}: expected "Name: value"`);
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  const suffix = o.path ? (o.path.startsWith('/') ? o.path : '/' + o.path) : '';
  const r = await send(target, o.method ?? 'POST', `/function/${o.name}${suffix}`, { headers, body });
  if (r.status < 400) {
    process.stdout.write(r.body);
    return 0;
  }
  const e = replyError(target, r);
  if (e.code === 'FAASS_E_GATEWAY_UNREACHABLE') {
    // not a faass error: the function's own answer
    process.stderr.write(`faassctl: HTTP ${r.status}: ${r.body.toString('utf8').trim().split('\n')[0]}\n`);
    return ERRORS.FAASS_E_FUNCTION_FAILED.exit;
  }
  process.stderr.write(`faassctl: HTTP ${r.status} ${e.code}: ${e.message.split('\n')[0]}\n`);
  return e.exitCode;
}

export const register: Register = (y, cli) =>
  y.command(
    'invoke <name>',
    'call a function through the gateway; the body goes to stdout',
    (y) =>
      y
        .positional('name', { type: 'string', demandOption: true })
        .option('data', { alias: 'd', type: 'string', describe: 'request body, @FILE, or @- for stdin' })
        .option('method', { alias: 'X', type: 'string', describe: 'HTTP method (default POST)' })
        .option('path', { type: 'string', describe: 'path after /function/NAME' })
        .option('header', { alias: 'H', type: 'string', array: true, describe: '"Name: value" (repeatable)' }),
    (a) => cli.run(() => invoke(cli.target(a), { name: a.name, data: a.data, method: a.method, path: a.path, headers: a.header })),
  );
