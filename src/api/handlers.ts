// The management API (faass-gateway(8), "Management API"): JSON over HTTP on a unix socket of
// the user's, reached from outside only through the gateway, which authenticates admins first.
// Every change goes through the same code as faassctl deploy/delete (functions/deploy.ts).
import * as http from 'node:http';
import { Paths } from '../core/paths';
import { callStatus } from '../queue/status';
import { purge, redrive } from '../queue/spool';
import { API_DRAIN_WAIT_MS, QueuePolicy, dropQueue, queuePolicy, reopenQueue, settleQueue } from '../queue/on-delete';
import { deadCall, deadLetters } from '../queue/dead-letters';
import { isValidCallId } from '../core/http-util';
import { FaassError } from '../core/errors';
import { deployFunction, deleteFunction, keepAccess, rebuildFunction, DeploySpec } from '../functions/deploy';
import { FunctionConfig, FunctionInput, listFunctionNames, loadFunctionConfig, configInput, queueKeys } from '../functions/function-config';
import { unpackTarGz, checkFileName, newStaging } from './upload';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadSettings } from '../core/settings';
import { PRIVATE_EXEC } from '../core/private-files';
import { CREDENTIAL_HEADER, readBody, sendError } from '../core/http-util';
import { Author, checkMessage, localAuthor, versionsView } from '../functions/versions';
import { rollbackFunction } from '../functions/rollback';
import { isValidName, validateName } from '../core/validate';
import { log, errorMessage } from '../observe/log';
import { addTrigger, listTriggers, removeTrigger } from './triggers';
import { abortCanary, canaryView, deployCanary, promoteCanary } from '../functions/canary';
import type { CanaryInput } from '../functions/canary-spec';
import { canarySummary } from '../functions/canary-files';
import { secretsRoute } from './secrets';
import { logsRoute } from './logs';
import { STACK_ROUTE, stackRoute, stackRouteMethod, stackUp } from './stacks';
import { historyView, statsView } from './stats';

const MAX_JSON = 1024 * 1024;

// A function as the API shows it: its settings, never anything secret (there is none in a
// function file; credentials live elsewhere and are never read here).
export function functionView(cfg: FunctionConfig): Record<string, unknown> {
  return {
    name: cfg.name,
    kind: cfg.kind,
    runtime: cfg.runtime,
    command: cfg.command,
    image: cfg.image,
    build: cfg.build,
    network: cfg.runtime === 'docker' ? cfg.network : undefined,
    port: cfg.port,
    health: cfg.health,
    ready_timeout: cfg.kind === 'service' ? cfg.readyTimeout : undefined,
    file: cfg.file,
    handler: cfg.handler,
    protocol: cfg.protocol,
    timeout: cfg.timeout,
    idle: cfg.idle,
    max_inflight: cfg.maxInflight,
    workers: cfg.workers,
    max_output: cfg.maxOutput,
    content_type: cfg.contentType,
    memory_max: cfg.memoryMax,
    tasks_max: cfg.tasksMax,
    cpu_quota: cfg.cpuQuota,
    scratch_max: cfg.scratchMax,
    auth: cfg.auth,
    pass_authorization: cfg.passAuthorization,
    secrets: cfg.secrets, // names only: values are never read here
    ...queueKeys(cfg), // as the file has them: the defaults left out
    env: cfg.env,
    version: cfg.version ? { number: cfg.version.number, code: cfg.version.code } : undefined, // the file's [version]
    url: `/function/${cfg.name}`,
  };
}

const INPUT_KEYS = ['kind', 'runtime', 'command', 'image', 'build', 'network', 'port', 'health', 'ready_timeout', 'handler', 'protocol', 'timeout', 'idle', 'max_inflight', 'workers', 'max_output', 'content_type', 'memory_max', 'tasks_max', 'cpu_quota', 'scratch_max', 'auth', 'pass_authorization', 'secrets', 'retries', 'retry_max_age', 'queue_max'] as const;

// A JSON body into a deploy: faass's own keys (OpenFaaS's service/envVars accepted too). Only
// scalars: no key reaches a unit file but through the function file's validation.
export function inputFromJson(body: unknown): { name: string; input: FunctionInput; message?: string; canary?: CanaryInput } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new FaassError('FAASS_E_CONFIG_INVALID', 'Expected a JSON object');
  const b = body as Record<string, unknown>;
  const name = validateName(b.name ?? b.service);
  const known = new Set<string>([...INPUT_KEYS, 'name', 'service', 'env', 'envVars', 'message', 'canary']);
  for (const k of Object.keys(b)) if (!known.has(k)) throw new FaassError('FAASS_E_CONFIG_INVALID', `Unknown field ${JSON.stringify(k.slice(0, 40))}; known fields: name, ${INPUT_KEYS.join(', ')}, env, message, canary`);
  const input: FunctionInput = {};
  for (const k of INPUT_KEYS) {
    const v = b[k];
    if (v === undefined || v === null) continue;
    // Lists of names (OpenFaaS's "secrets": ["a", "b"]), or the file's comma-separated text.
    if ((k === 'auth' || k === 'secrets') && Array.isArray(v) && v.every((x) => typeof x === 'string')) input[k] = v.join(',');
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') input[k] = typeof v === 'number' ? String(v) : v;
    else throw new FaassError('FAASS_E_CONFIG_INVALID', `Invalid ${k}: expected a string, number or boolean`);
  }
  // As faassctl deploy does: an image (or a build) means docker, a command alone exec.
  if (input.runtime === undefined) input.runtime = input.image !== undefined || input.build !== undefined ? 'docker' : input.command !== undefined ? 'exec' : undefined;
  if (input.runtime === undefined) delete input.runtime;
  // Through the API a build context is inside the function's code only: never a host path.
  if (typeof input.build === 'string' && input.build.startsWith('/')) throw new FaassError('FAASS_E_CONFIG_INVALID', 'Invalid build: through the API, a directory inside the function\'s code (such as .), not a host path');
  const env = b.env ?? b.envVars;
  if (env !== undefined) {
    if (typeof env !== 'object' || env === null || Array.isArray(env)) throw new FaassError('FAASS_E_CONFIG_INVALID', 'Invalid env: expected an object of strings');
    for (const [k, v] of Object.entries(env)) if (typeof v !== 'string') throw new FaassError('FAASS_E_CONFIG_INVALID', `Invalid env ${JSON.stringify(k.slice(0, 40))}: expected a string`);
    input.env = env as Record<string, string>;
  }
  return { name, input, message: b.message === undefined || b.message === null ? undefined : checkMessage(b.message), ...(b.canary === undefined || b.canary === null ? {} : { canary: canaryFromJson(b.canary) }) };
}

// "canary": {"share": "10%", "header": "X-User", "max_errors": "20%", "window": "1min",
// "min_calls": 10}: deploy as a canary (functions/canary.ts), judged as faassctl's options are.
const CANARY_KEYS = ['share', 'header', 'max_errors', 'window', 'min_calls'] as const;
function canaryFromJson(v: unknown): CanaryInput {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FaassError('FAASS_E_USAGE', 'Invalid canary: expected an object such as {"share": "10%"}');
  const c = v as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!(CANARY_KEYS as readonly string[]).includes(k)) throw new FaassError('FAASS_E_USAGE', `Unknown field ${JSON.stringify(k.slice(0, 40))} in canary; known fields: ${CANARY_KEYS.join(', ')}`);
  for (const k of CANARY_KEYS) if (c[k] !== undefined && typeof c[k] !== 'string' && typeof c[k] !== 'number') throw new FaassError('FAASS_E_USAGE', `Invalid canary ${k}: expected a string or a number`);
  if (c.share === undefined) throw new FaassError('FAASS_E_USAGE', 'Invalid canary: its share is required, such as {"share": "10%"}');
  const text = (k: string) => (c[k] === undefined ? undefined : String(c[k]));
  return { percent: text('share'), header: text('header'), maxErrors: text('max_errors'), window: text('window'), minCalls: text('min_calls') };
}

// Who deploys through the API: the admin credential the gateway names (CREDENTIAL_HEADER); a peer
// of the API's socket on this host (the user's alone) without it: the local user.
function authorOf(req: http.IncomingMessage): Author {
  const name = req.headers[CREDENTIAL_HEADER];
  return typeof name === 'string' && isValidName(name) ? { who: name, via: 'api' } : { ...localAuthor(), via: 'api' };
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

// empty: what an empty body stands for where one may be left out (undefined: it may not).
async function readJson(req: http.IncomingMessage, empty?: unknown): Promise<unknown> {
  const raw = await readBody(req, MAX_JSON);
  if (raw.length === 0 && empty !== undefined) return empty;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new FaassError('FAASS_E_CONFIG_INVALID', 'The request body is not valid JSON');
  }
}

// Every route decodes its segments with decodeURIComponent: a broken %-escape is the client's
// mistake (400), checked here once for all routes rather than a URIError (500) in each. A path
// that decodes whole decodes segment by segment too (UTF-8 has no "/" inside a character).
function checkEscapes(p: string): void {
  try {
    decodeURIComponent(p);
  } catch {
    throw new FaassError('FAASS_E_USAGE', `Invalid path ${JSON.stringify(p.slice(0, 80))}: a %-escape that is not UTF-8 (encode names with encodeURIComponent)`);
  }
}

function exists(paths: Paths, name: string): boolean {
  return listFunctionNames(paths).includes(name);
}

// Deploys or deletes run one at a time: each rewrites the unit set and reloads systemd.
let queue: Promise<unknown> = Promise.resolve();
function serialized<T>(f: () => Promise<T>): Promise<T> {
  const next = queue.then(f, f);
  queue = next.catch(() => undefined);
  return next;
}

export function apiHandler(paths: Paths): http.RequestListener {
  return (req, res) => {
    route(paths, req, res).catch((e) => {
      if (e instanceof FaassError) {
        res.shouldKeepAlive = false;
        sendError(res, e.code, e.message);
        return;
      }
      log.err(`API ${req.method} ${req.url}: ${errorMessage(e)}`);
      sendError(res, 'FAASS_E_INTERNAL', 'Internal error in the API; see journalctl --user-unit=faass-api.service');
    });
  };
}

async function route(paths: Paths, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://api');
  const p = url.pathname.replace(/\/+$/, '') || '/';
  checkEscapes(p);
  const method = req.method ?? 'GET';
  const notAllowed = (allowed: string) => {
    sendError(res, 'FAASS_E_METHOD_NOT_ALLOWED', `${method} is not allowed on ${p}; use ${allowed}`, { allow: allowed });
  };
  if (p === '/system/functions') {
    if (method === 'GET') return send(res, 200, listFunctionNames(paths).flatMap((n) => viewOrBroken(paths, n)));
    if (method === 'POST' || method === 'PUT') {
      const { name, input, message, canary } = inputFromJson(await readJson(req));
      const found = exists(paths, name);
      if (method === 'POST' && found) throw new FaassError('FAASS_E_FUNCTION_EXISTS', `A function named ${name} exists; update it with PUT`);
      if (method === 'PUT' && !found) throw new FaassError('FAASS_E_FUNCTION_NOT_FOUND', `No function named ${name}; create it with POST`);
      return deploy(paths, res, name, input, found ? 200 : 201, { message, author: authorOf(req) }, canary);
    }
    if (method === 'DELETE') {
      const body = (await readJson(req)) as { functionName?: unknown; name?: unknown } | null;
      const name = body?.functionName ?? body?.name;
      if (typeof name !== 'string' || !isValidName(name)) throw new FaassError('FAASS_E_NAME_INVALID', 'Expected {"functionName": NAME}');
      return remove(paths, res, name, queuePolicy((body as { queue?: unknown } | null)?.queue));
    }
    return notAllowed('GET, POST, PUT, DELETE');
  }
  const code = /^\/system\/function\/([^/]+)\/code$/.exec(p);
  if (code) {
    if (method !== 'PUT' && method !== 'POST') return notAllowed('PUT, POST');
    return upload(paths, req, res, decodeURIComponent(code[1]), url.searchParams.get('filename'));
  }
  const canary = /^\/system\/function\/([^/]+)\/(canary|promote|abort)$/.exec(p);
  if (canary) return canaryRoute(paths, req, res, decodeURIComponent(canary[1]), canary[2]);
  const versions = /^\/system\/function\/([^/]+)\/(versions|rollback)$/.exec(p);
  if (versions) return versionsRoute(paths, req, res, decodeURIComponent(versions[1]), versions[2]);
  if (p === '/system/stats') {
    if (method !== 'GET') return notAllowed('GET');
    return send(res, 200, await statsView(paths, url.searchParams));
  }
  const history = /^\/system\/function\/([^/]+)\/history$/.exec(p);
  if (history) {
    if (method !== 'GET') return notAllowed('GET');
    return send(res, 200, historyView(paths, decodeURIComponent(history[1]), url.searchParams));
  }
  const build = /^\/system\/function\/([^/]+)\/build$/.exec(p);
  if (build) {
    if (method !== 'POST') return notAllowed('POST');
    req.resume();
    return rebuild(paths, res, decodeURIComponent(build[1]), authorOf(req));
  }
  const one = /^\/(?:system\/function|api\/functions|api\/services)\/([^/]+)$/.exec(p);
  if (one) {
    const name = decodeURIComponent(one[1]);
    validateName(name);
    if (method === 'GET') return send(res, 200, storedView(paths, loadFunctionConfig(paths, name)));
    if (method === 'DELETE') return remove(paths, res, name, queuePolicy(url.searchParams.get('queue') ?? undefined));
    if ((method === 'PUT' || method === 'POST') && !p.startsWith('/system/')) {
      // The original faass's API: PUT/POST /api/functions/NAME creates or replaces.
      const body = (await readJson(req)) as Record<string, unknown> | null;
      const { input, message, canary } = inputFromJson({ ...(body ?? {}), name, service: undefined });
      if (p.startsWith('/api/services/')) input.kind = 'service';
      return deploy(paths, res, name, input, exists(paths, name) ? 200 : 201, { message, author: authorOf(req) }, canary);
    }
    return notAllowed(p.startsWith('/system/') ? 'GET, DELETE' : 'GET, PUT, POST, DELETE');
  }
  if (p === '/system/secrets') {
    if (!['GET', 'POST', 'PUT', 'DELETE'].includes(method)) return notAllowed('GET, POST, PUT, DELETE');
    const r = await secretsRoute(paths, method, () => readJson(req), serialized);
    return send(res, r.status, r.body);
  }
  const stack = STACK_ROUTE.exec(p);
  if (stack) {
    const allowed = stackRouteMethod(stack[2]);
    if (method !== allowed) return notAllowed(allowed);
    if (stack[2] === 'up') {
      // Code: as large as a code upload may be (the gateway's max_body).
      const body = await readBody(req, loadSettings(paths).maxBody);
      const r = await stackUp(paths, decodeURIComponent(stack[1]), body, TAR_GZ.has(contentType(req)), serialized, authorOf(req));
      return send(res, r.status, r.body);
    }
    const r = await stackRoute(paths, decodeURIComponent(stack[1]), stack[2], (empty?: unknown) => readJson(req, empty), serialized, authorOf(req).who);
    return send(res, r.status, r.body);
  }
  const tail = /^\/system\/logs\/([^/]+)$/.exec(p);
  if (tail) return logsRoute(paths, req, res, decodeURIComponent(tail[1]), url.searchParams);
  const dead = /^\/system\/dlq\/([^/]+)(?:\/([^/]+))?$/.exec(p);
  if (dead) return deadLettersRoute(paths, req, res, decodeURIComponent(dead[1]), dead[2] === undefined ? undefined : decodeURIComponent(dead[2]));
  const trig = /^\/system\/triggers(?:\/([^/]+)(?:\/([^/]+)\/([^/]+))?)?$/.exec(p);
  if (trig) return triggersRoute(paths, req, res, trig.slice(1).map((x) => (x === undefined ? undefined : decodeURIComponent(x))));
  const asked = /^\/system\/calls\/([^/]+)$/.exec(p);
  if (asked) {
    if (method !== 'GET') return notAllowed('GET');
    const id = decodeURIComponent(asked[1]);
    const status = await callStatus(paths, id);
    if (!status) throw new FaassError('FAASS_E_CALL_NOT_FOUND', `No asynchronous call ${id} (calls done are kept 24 h)`);
    return send(res, 200, status);
  }
  if (p === '/api/configuration' || p === '/system/info') {
    if (method !== 'GET') return notAllowed('GET');
    const gw = loadSettings(paths);
    return send(res, 200, { provider: 'faass', gateway: { listen: gw.listen.text, idle: gw.idle, timeout: gw.timeout, max_body: gw.maxBody, tls: gw.tls ? { listen: gw.tls.listen?.text ?? gw.listen.text, http_redirect: gw.tls.redirect } : null }, functions: listFunctionNames(paths).length });
  }
  sendError(res, 'FAASS_E_ROUTE_MISSING', `No API route ${p}; see faass-gateway(8)`);
}

// GET /system/dlq/NAME (list), GET .../ID (one request, body base64), POST .../redrive and
// POST .../purge with {"ids": [...]} or {"all": true} (faassctl dlq).
async function deadLettersRoute(paths: Paths, req: http.IncomingMessage, res: http.ServerResponse, name: string, sub: string | undefined): Promise<void> {
  validateName(name);
  const method = req.method ?? 'GET';
  if (sub === 'redrive' || sub === 'purge') {
    if (method !== 'POST') return sendError(res, 'FAASS_E_METHOD_NOT_ALLOWED', `${method} is not allowed here; use POST`, { allow: 'POST' });
    const body = (await readJson(req)) as { ids?: unknown; all?: unknown } | null;
    const ids = body?.all === true ? undefined : Array.isArray(body?.ids) && body.ids.every((i) => typeof i === 'string' && isValidCallId(i)) && body.ids.length > 0 ? (body.ids as string[]) : null;
    if (ids === null) throw new FaassError('FAASS_E_USAGE', 'Expected {"ids": [CALL_ID, ...]} or {"all": true}');
    return send(res, 200, await (sub === 'redrive' ? redrive : purge)(paths, name, ids));
  }
  if (method !== 'GET') return sendError(res, 'FAASS_E_METHOD_NOT_ALLOWED', `${method} is not allowed here; use GET`, { allow: 'GET' });
  if (sub === undefined) return send(res, 200, await deadLetters(paths, name));
  const c = await deadCall(paths, name, sub);
  return send(res, 200, { ...c, body: c.body.toString('base64') });
}

// /system/triggers[/NAME[/KIND/ID]] (api/triggers.ts).
async function triggersRoute(paths: Paths, req: http.IncomingMessage, res: http.ServerResponse, [name, kind, which]: (string | undefined)[]): Promise<void> {
  const method = req.method ?? 'GET';
  const allowed = which !== undefined ? 'DELETE' : name !== undefined ? 'GET, POST' : 'GET';
  if (!allowed.split(', ').includes(method)) return sendError(res, 'FAASS_E_METHOD_NOT_ALLOWED', `${method} is not allowed here; use ${allowed}`, { allow: allowed });
  if (name !== undefined) validateName(name);
  const r = method === 'GET' ? await listTriggers(paths, name) : method === 'POST' ? await addTrigger(paths, name as string, await readJson(req), serialized) : await removeTrigger(paths, name as string, kind as string, which as string, serialized);
  send(res, r.status, r.body);
}

const contentType = (req: http.IncomingMessage) => (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
const TAR_GZ = new Set(['application/gzip', 'application/x-gzip', 'application/x-tar+gzip', 'application/x-compressed-tar', 'application/tar+gzip']);

// New code: a tar.gz of the function's directory, or one file (?filename=), into a new code
// version through the same deploy as faassctl deploy --from-file. Without X-Faass-Function the
// function must exist and keeps its settings; with it (a JSON object as for POST, in ASCII) the
// settings and the code change in one deploy, and a function that does not exist is created.
async function upload(paths: Paths, req: http.IncomingMessage, res: http.ServerResponse, name: string, filename: string | null): Promise<void> {
  validateName(name);
  const header = req.headers['x-faass-function'];
  let settings: FunctionInput | null = null;
  let message: string | undefined;
  let canary: CanaryInput | undefined;
  if (typeof header === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(header);
    } catch {
      throw new FaassError('FAASS_E_CONFIG_INVALID', 'The X-Faass-Function header is not valid JSON');
    }
    ({ input: settings, message, canary } = inputFromJson({ ...(parsed as object), name, service: undefined }));
  }
  const cfg = settings ? null : loadFunctionConfig(paths, name);
  const existed = exists(paths, name);
  const body = await readBody(req, loadSettings(paths).maxBody);
  const type = contentType(req);
  const tmp = newStaging(paths, name);
  try {
    const input = settings ?? configInput(cfg as FunctionConfig);
    let from: string;
    let files = 1;
    if (TAR_GZ.has(type)) {
      files = await unpackTarGz(body, tmp);
      from = tmp;
    } else {
      const file = checkFileName(filename);
      from = path.join(tmp, file);
      fs.writeFileSync(from, body, { mode: PRIVATE_EXEC }); // a script may be the command
      if (cfg?.file !== undefined) input.file = file;
    }
    const who = { message, author: authorOf(req) };
    if (canary) return await deployCanaryAnswer(paths, res, settings ? { ...deploySpec(paths, name, settings, from), ...who } : { name, input, fromFile: from, ...who }, canary);
    const { config, report, warnings, version, dependencies } = await serialized(() => deployFunction(paths, settings ? { ...deploySpec(paths, name, settings, from), ...who } : { name, input, fromFile: from, ...who }));
    log.info(`API: ${settings && !existed ? 'created' : 'new code for'} ${name} (${files} file${files === 1 ? '' : 's'}, ${body.length} bytes)`);
    send(res, settings && !existed ? 201 : 200, { ...functionView(config), ...versionField(version), files, bytes: body.length, dependencies, systemd: report.systemd, warnings });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// POST /system/function/NAME/build: the image built again from the function's build context.
async function rebuild(paths: Paths, res: http.ServerResponse, name: string, author: Author): Promise<void> {
  validateName(name);
  const { previous, config, report, warnings } = await serialized(() => rebuildFunction(paths, name, undefined, author));
  log.info(`API: rebuilt ${name}: ${config.image}${config.image === previous.image ? ' (unchanged)' : ''}`);
  send(res, 200, { ...functionView(config), previous_image: previous.image, changed: config.image !== previous.image, systemd: report.systemd, warnings });
}

// A deployed function as GET shows it: its settings and its canary, if it has one.
const storedView = (paths: Paths, cfg: FunctionConfig): Record<string, unknown> => ({ ...functionView(cfg), canary: canarySummary(paths, cfg.name) ?? undefined });

function viewOrBroken(paths: Paths, name: string): Record<string, unknown>[] {
  try {
    return [storedView(paths, loadFunctionConfig(paths, name))];
  } catch (e) {
    return [{ name, error: e instanceof FaassError ? e.code : 'FAASS_E_INTERNAL' }];
  }
}

// handler is read as faassctl deploy --handler reads it (NAME, or Kubeless's FILE.NAME), and an
// update that does not name who may call the function keeps it as it was.
function deploySpec(paths: Paths, name: string, input: FunctionInput, fromFile?: string): DeploySpec {
  const { handler, ...rest } = input;
  keepAccess(paths, name, rest);
  return { name, input: rest, fromFile, handlerSpec: typeof handler === 'string' ? handler : undefined };
}

async function deploy(paths: Paths, res: http.ServerResponse, name: string, input: FunctionInput, status: number, who: { message?: string; author: Author }, canary?: CanaryInput): Promise<void> {
  if (canary) return deployCanaryAnswer(paths, res, { ...deploySpec(paths, name, input), ...who }, canary);
  const { config, report, warnings, version } = await serialized(() => deployFunction(paths, { ...deploySpec(paths, name, input), ...who }));
  log.info(`API: deployed ${name} (${config.runtime}) as version ${version.number}${version.fresh ? '' : ' (unchanged)'}; units ${report.units.written.length} written`);
  send(res, status, { ...functionView(config), ...versionField(version), systemd: report.systemd, warnings });
}

// What a deploy's answer says of its version besides the view's: whether it is a new one.
const versionField = (v: { fresh: boolean }) => ({ new_version: v.fresh });

// GET /system/function/NAME/versions (faassctl versions); POST .../rollback with {"to": N} (or
// none: the version before the current) and "restore_access": true to let more callers in.
async function versionsRoute(paths: Paths, req: http.IncomingMessage, res: http.ServerResponse, name: string, what: string): Promise<void> {
  validateName(name);
  const method = req.method ?? 'GET';
  const allowed = what === 'versions' ? 'GET' : 'POST';
  if (method !== allowed) return sendError(res, 'FAASS_E_METHOD_NOT_ALLOWED', `${method} is not allowed here; use ${allowed}`, { allow: allowed });
  if (what === 'versions') return send(res, 200, versionsView(paths, name));
  const body = await readJson(req, {});
  // Anything but an object (null, a list, a bare number) is a client's mistake, not the default.
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new FaassError('FAASS_E_USAGE', 'Expected a JSON object ({"to": N, "restore_access": true}) or no body');
  const b = body as { to?: unknown; restore_access?: unknown };
  for (const k of Object.keys(b)) if (k !== 'to' && k !== 'restore_access') throw new FaassError('FAASS_E_USAGE', `Unknown field ${JSON.stringify(k.slice(0, 40))}; known fields: to, restore_access`);
  if (b.to !== undefined && (typeof b.to !== 'number' || !Number.isSafeInteger(b.to) || b.to < 1)) throw new FaassError('FAASS_E_USAGE', 'Invalid to: expected a version number from 1');
  if (b.restore_access !== undefined && typeof b.restore_access !== 'boolean') throw new FaassError('FAASS_E_USAGE', 'Invalid restore_access: expected true or false');
  const r = await serialized(() => rollbackFunction(paths, name, { to: b.to as number | undefined, restoreAccess: b.restore_access === true }));
  log.info(`API: rolled ${name} back to version ${r.to}${r.from !== null ? ` from ${r.from}` : ''} (${authorOf(req).who})`);
  send(res, 200, { name, from: r.from, to: r.to, systemd: r.report.systemd, notes: r.report.canariesAborted ?? [] });
}

// policy: what becomes of its queue (queue/on-delete.ts; ?queue=drain|discard).
async function remove(paths: Paths, res: http.ServerResponse, name: string, policy: QueuePolicy = 'refuse'): Promise<void> {
  validateName(name);
  if (!exists(paths, name)) throw new FaassError('FAASS_E_FUNCTION_NOT_FOUND', `No function named ${name}`);
  const queue = await settleQueue(paths, name, policy, API_DRAIN_WAIT_MS);
  const report = await serialized(() => deleteFunction(paths, name)).catch(async (e) => {
    await reopenQueue(paths, name);
    throw e;
  });
  await dropQueue(paths, name);
  for (const w of report.warnings) log.warning(`API: ${w}, ignoring`);
  log.info(`API: deleted ${name}${queue.discarded || queue.dead || queue.callbacks ? ` with ${queue.discarded} queued call(s), ${queue.callbacks} unsent callback(s) and ${queue.dead} dead letter(s)` : ''}`);
  send(res, 200, { name, deleted: true, systemd: report.systemd, queue });
}

// A deploy with "canary": the new version beside the current one (functions/canary.ts).
async function deployCanaryAnswer(paths: Paths, res: http.ServerResponse, spec: DeploySpec, canary: CanaryInput): Promise<void> {
  const r = await serialized(() => deployCanary(paths, spec, canary));
  log.info(`API: deployed ${spec.name} as version ${r.route.version}, a canary at ${r.route.percent}% beside version ${r.current ?? '?'}`);
  send(res, 200, { ...functionView(r.config), new_version: true, current: r.current, canary: canaryView(paths, spec.name), systemd: r.report.systemd, notes: r.report.canariesAborted ?? [] });
}

// GET /system/function/NAME/canary (faassctl canary); POST .../promote and .../abort.
async function canaryRoute(paths: Paths, req: http.IncomingMessage, res: http.ServerResponse, name: string, what: string): Promise<void> {
  validateName(name);
  const method = req.method ?? 'GET';
  const allowed = what === 'canary' ? 'GET' : 'POST';
  req.resume();
  if (method !== allowed) return sendError(res, 'FAASS_E_METHOD_NOT_ALLOWED', `${method} is not allowed here; use ${allowed}`, { allow: allowed });
  if (what === 'canary') return send(res, 200, canaryView(paths, name));
  if (what === 'promote') {
    const r = await serialized(() => promoteCanary(paths, name));
    log.info(`API: promoted the canary of ${name}: version ${r.to} (${authorOf(req).who})`);
    return send(res, 200, { name, from: r.from, to: r.to, systemd: r.report.systemd, notes: r.report.canariesAborted ?? [] });
  }
  const r = await serialized(() => abortCanary(paths, name));
  log.info(`API: aborted the canary of ${name}${r.version !== null ? ` (version ${r.version})` : ''} (${authorOf(req).who})`);
  send(res, 200, { name, version: r.version, systemd: r.report.systemd, notes: r.report.canariesAborted ?? [] });
}
