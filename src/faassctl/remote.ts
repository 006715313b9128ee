// faassctl --gateway URL: the same verbs through the management API (faass-gateway(8)).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tar from 'tar';
import * as ini from 'ini';
import { Paths } from '../core/paths';
import { FaassError, fail } from '../core/errors';
import { validateName } from '../core/validate';
import { DeployArgs, deployInput } from './deploy-input';
import { sayDependencies, sayWarnings } from './report';
import type { DepsReport } from '../functions/deps-install';
import { Target, send, sendJson, replyError, updateTokens, gatewayKey, parseGatewayUrl, checkToken, remoteTarget, credentialsFile } from './client';
import { QueuePolicy } from '../queue/on-delete';
import { checkMessage } from '../functions/versions';
import { describeRoute } from './canary';
import { CanarySummary, describeSummary } from '../functions/canary-files';

interface FunctionView {
  name: string;
  runtime?: string;
  command?: string;
  file?: string;
  image?: string;
  error?: string;
  warnings?: string[]; // limits the host will not enforce, as faassctl deploy says them
  canary?: CanarySummary; // GET's: the function's canary, when it has one
  [k: string]: unknown;
}

// Settings travel in a header next to uploaded code: JSON made pure ASCII, of a size every
// HTTP server takes.
const MAX_SETTINGS_HEADER = 12 * 1024;
export function settingsHeader(input: Record<string, unknown>): string {
  const text = JSON.stringify(input).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (text.length > MAX_SETTINGS_HEADER) fail('FAASS_E_USAGE', `The settings are too large to send with code (${text.length} bytes, at most ${MAX_SETTINGS_HEADER}); use fewer or shorter --env values`);
  return text;
}

export async function tarGz(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = tar.c({ gzip: true, cwd: dir, portable: true }, ['.']);
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

export async function remoteDeploy(t: Target, a: DeployArgs): Promise<number> {
  // --build DIR without --from-file: DIR is uploaded as the code and built from its top.
  const code = a.fromFile ?? (a.build || undefined);
  const build = a.build === undefined ? undefined : a.fromFile ? a.build || '.' : '.';
  const input: Record<string, unknown> = deployInput(a, build);
  if (a.handler !== undefined) input.handler = a.handler;
  if (a.message !== undefined) input.message = checkMessage(a.message); // the version's (functions/versions.ts)
  if (a.canary !== undefined) input.canary = canaryOf(a);
  let fn: FunctionView;
  if (code === undefined) {
    fn = (await sendJson(t, 'PUT', `/api/functions/${a.name}`, input)) as FunctionView;
  } else {
    const st = fs.statSync(code, { throwIfNoEntry: false });
    if (!st || (!st.isFile() && !st.isDirectory())) fail('FAASS_E_FILE_MISSING', `Cannot read ${code}: no such file or directory`);
    const headers: Record<string, string> = { 'x-faass-function': settingsHeader(input) };
    let urlPath = `/system/function/${a.name}/code`;
    let body: Buffer;
    if (st.isDirectory()) {
      body = await tarGz(code);
      headers['content-type'] = 'application/gzip';
    } else {
      body = fs.readFileSync(code);
      headers['content-type'] = 'application/octet-stream';
      urlPath += `?filename=${encodeURIComponent(path.basename(code))}`;
    }
    if (build !== undefined) process.stdout.write(`Uploading ${body.length} bytes; the image is built on the gateway's host\n`);
    const r = await send(t, 'PUT', urlPath, { headers, body });
    if (r.status >= 300) throw replyError(t, r);
    fn = JSON.parse(r.body.toString('utf8')) as FunctionView;
  }
  if (a.canary !== undefined) return sayCanary(t, fn);
  const n = (fn.version as { number?: number } | undefined)?.number;
  const version = n !== undefined ? ` ${fn.new_version === false ? `unchanged, still version ${n}` : `as version ${n}`}` : '';
  sayDependencies(fn.dependencies as DepsReport | null | undefined);
  process.stdout.write(`Deployed ${fn.name} (${fn.runtime})${version} on ${t.label}; call it at ${t.url}/function/${fn.name}\n`);
  sayWarnings(fn.warnings);
  return 0;
}

// deploy --canary through the API: its options as the API's "canary" object, judged there.
function canaryOf(a: DeployArgs): Record<string, string> {
  const given: Record<string, string | undefined> = { share: a.canary, header: a.canaryHeader, max_errors: a.canaryMaxErrors, window: a.canaryWindow, min_calls: a.canaryMinCalls };
  return Object.fromEntries(Object.entries(given).filter((e): e is [string, string] => e[1] !== undefined));
}

function sayCanary(t: Target, fn: FunctionView): number {
  const c = fn.canary as CanarySummary & { header: string | null; max_errors: number | null; window: number; min_calls: number }; // the deploy's: the whole view
  for (const note of (fn.notes ?? []) as string[]) process.stdout.write(`${note}\n`);
  process.stdout.write(`Deployed ${fn.name} as version ${c.version}, a canary beside version ${fn.current ?? '?'} on ${t.label}: ${describeRoute({ percent: c.percent, header: c.header, maxErrors: c.max_errors, window: c.window, minCalls: c.min_calls })}\n`);
  return 0;
}

export async function remoteBuild(t: Target, name: string): Promise<number> {
  validateName(name);
  const r = (await sendJson(t, 'POST', `/system/function/${name}/build`)) as FunctionView & { previous_image?: string; changed?: boolean };
  process.stdout.write(r.changed ? `Built ${r.image}; ${name} uses it from now on (was ${r.previous_image})\n` : `Image ${r.image} is unchanged\n`);
  sayWarnings(r.warnings);
  return 0;
}

export async function remoteList(t: Target): Promise<number> {
  const fns = (await sendJson(t, 'GET', '/system/functions')) as FunctionView[];
  for (const f of fns) process.stdout.write(f.error ? `${f.name}\tINVALID\t${f.error}\n` : `${f.name}\t${f.runtime}\t${f.command ?? f.file ?? ''}${f.canary ? `\t${describeSummary(f.canary)}` : ''}\n`);
  return 0;
}

// The settings as the function's file on the gateway's host has them (faass.conf(5)).
export function renderView(f: FunctionView): string {
  const fn: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(f)) {
    if (k === 'name' || k === 'env' || k === 'url' || k === 'version' || k === 'canary' || v === undefined || v === null || v === false) continue;
    if (k === 'kind' && v === 'function') continue;
    if (Array.isArray(v)) {
      if (v.length > 0) fn[k] = v.join(',');
    } else fn[k] = v === true ? 'yes' : typeof v === 'number' ? v : String(v);
  }
  const env = Object.fromEntries(Object.entries((f.env ?? {}) as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const version = f.version as { number: number; code: string } | undefined;
  return ini.stringify({ function: fn, ...(Object.keys(env).length ? { env } : {}), ...(version ? { version: { number: version.number, code: version.code } } : {}) });
}

export async function remoteDescribe(t: Target, name: string): Promise<number> {
  validateName(name);
  const f = (await sendJson(t, 'GET', `/system/function/${name}`)) as FunctionView;
  process.stdout.write(`# ${name} on ${t.label}\n${renderView(f)}`);
  if (f.canary) process.stdout.write(`# ${describeSummary(f.canary)} (faassctl canary ${name})\n`);
  return 0;
}

export async function remoteDelete(t: Target, name: string, policy: QueuePolicy = 'refuse'): Promise<number> {
  validateName(name);
  await sendJson(t, 'DELETE', `/system/function/${name}${policy === 'refuse' ? '' : `?queue=${policy}`}`);
  process.stdout.write(`Deleted ${name} on ${t.label}\n`);
  return 0;
}
