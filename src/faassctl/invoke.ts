import * as fs from 'node:fs';
import { ERRORS, fail } from '../core/errors';
import { validateName } from '../core/validate';
import { Target, send, replyError, faassErrorIn } from './client';
import { Register } from './cli';
import { Paths } from '../core/paths';
import { invokeLocal, localFunction, LocalAnswer } from './invoke-local';
import { DeployArgs } from './deploy-input';

export interface InvokeOptions {
  name: string;
  data?: string; // DATA, @FILE or @- for stdin
  method?: string;
  path?: string;
  headers?: string[];
  async?: boolean; // queue it (/async-function/NAME): prints the call's id
  callback?: string; // with async: where its result is POSTed (X-Callback-Url)
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

function parseHeaders(lines: string[] = []): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const h of lines) {
    const i = h.indexOf(':');
    if (i <= 0) fail('FAASS_E_USAGE', `Invalid header ${JSON.stringify(h)}: expected "Name: value"`);
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  return headers;
}

const pathSuffix = (p?: string): string => (p ? (p.startsWith('/') ? p : '/' + p) : '');

// Calls a function through the gateway (local or --gateway), as any client would; the body goes
// to stdout. An error answer: its code's exit status, and the function's own errors exit 5.
export async function invoke(target: Target, o: InvokeOptions): Promise<number> {
  validateName(o.name);
  const body = readData(o.data);
  const headers = parseHeaders(o.headers);
  if (o.callback !== undefined) {
    if (!o.async) fail('FAASS_E_USAGE', '--callback needs --async: a synchronous call answers here');
    headers['x-callback-url'] = o.callback; // checked by the gateway, which alone knows the allow-list in force
  }
  const r = await send(target, o.method ?? 'POST', `/${o.async ? 'async-function' : 'function'}/${o.name}${pathSuffix(o.path)}`, { headers, body });
  if (o.async && r.status === 202) {
    process.stdout.write(`${r.headers['x-call-id'] ?? ''}\n`);
    return 0;
  }
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

// --local: the same call run here by the runner's own code, no gateway (invoke-local.ts). The
// answer as from the gateway: the body to stdout; an error's code and exit status.
export async function invokeHere(paths: Paths, o: InvokeOptions & DeployArgs): Promise<number> {
  validateName(o.name);
  const body = readData(o.data); // before the call moves to the code's directory
  const headers = parseHeaders(o.headers);
  const fn = localFunction(paths, o);
  const a: LocalAnswer = await invokeLocal(paths, fn, { method: o.method ?? 'POST', url: pathSuffix(o.path) || '/', headers, body });
  if (a.status < 400) {
    process.stdout.write(a.body);
    return 0;
  }
  const e = faassErrorIn(a.body);
  if (e) {
    process.stderr.write(`faassctl: HTTP ${a.status} ${e.code}: ${e.message.split('\n')[0]}\n`);
    return e.exitCode;
  }
  process.stderr.write(`faassctl: HTTP ${a.status}: ${a.body.toString('utf8').trim().split('\n')[0]}\n`);
  return ERRORS.FAASS_E_FUNCTION_FAILED.exit;
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
        .option('header', { alias: 'H', type: 'string', array: true, describe: '"Name: value" (repeatable)' })
        .option('async', { type: 'boolean', describe: 'queue the call (202 once it is on disk) and print its id; the dispatcher delivers it, retrying failures' })
        .option('callback', { type: 'string', describe: 'with --async: URL the result is POSTed to once final (X-Callback-Url; faass.conf [async] callback_allow)' })
        .option('local', { type: 'boolean', describe: "run the handler once here, as its runner would, with no gateway or systemd (a function's own tests, CI); its code: the deployed function's, or --runtime/--from-file/--command" })
        .option('runtime', { type: 'string', describe: 'with --local: exec, node or python' })
        .option('from-file', { type: 'string', describe: "with --local: the handler's file or directory" })
        .option('command', { type: 'string', describe: 'with --local: command line (runtime exec)' })
        .option('handler', { type: 'string', describe: 'with --local: export/function name, or FILE.NAME' })
        .option('env', { type: 'string', array: true, describe: 'with --local: KEY=VALUE for the function (repeatable)' })
        .option('timeout', { type: 'string', describe: 'with --local: how long the call may run (default 30s)' }),
    (a) =>
      a.local
        ? cli.local(a, 'invoke --local', () => invokeHere(cli.paths, { name: a.name, data: a.data, method: a.method, path: a.path, headers: a.header, runtime: a.runtime, fromFile: a['from-file'], command: a.command, handler: a.handler, env: a.env, timeout: a.timeout }))
        : cli.run(() => invoke(cli.target(a), { name: a.name, data: a.data, method: a.method, path: a.path, headers: a.header, async: a.async, callback: a.callback })),
  );
