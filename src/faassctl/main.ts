#!/usr/bin/env node
// faassctl(1): deploy, call and inspect faass functions.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { resolvePaths } from '../lib/paths';
import { FaassError } from '../lib/errors';
import { tlsSelfSigned } from './tls';
import { credentialsAdd, credentialsList, credentialsRemove } from './credentials';
import { deploy, build, remove, list, describe, generateUnits, init, logs, DeployArgs } from './commands';
import { invoke } from './invoke';
import { Target, localTarget, remoteTarget, parseGatewayUrl, readTokens, gatewayKey, checkToken } from './client';
import { remoteDeploy, remoteBuild, remoteList, remoteDescribe, remoteDelete, login, logout } from './remote';
import { status } from './status';
import { stats } from './stats';
import { top } from './top';
import { serve } from './serve';

// A reader that has had enough (faassctl status | head) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const paths = resolvePaths();
let result: Promise<number> | number = 0;
const run = (f: () => Promise<number> | number) => {
  result = Promise.resolve().then(f);
};

interface Global {
  gateway?: string;
  token?: string;
  cacert?: string;
}

// --gateway URL (or FAASS_GATEWAY): the verbs go through that gateway's management API.
const gatewayOf = (a: Global): string | undefined => (a.gateway !== undefined ? a.gateway : process.env.FAASS_GATEWAY) || undefined;

// The token: --token, FAASS_TOKEN, or (remote) the one faassctl login saved for the gateway.
function target(a: Global): Target {
  // --token '' sends none (not even a saved one).
  const given = a.token !== undefined ? a.token && checkToken(a.token, '--token') : process.env.FAASS_TOKEN ? checkToken(process.env.FAASS_TOKEN, 'FAASS_TOKEN') : undefined;
  const g = gatewayOf(a);
  if (!g) return localTarget(paths, given || undefined);
  const url = parseGatewayUrl(g);
  if (given === '') return remoteTarget(url, undefined, a.cacert ?? (process.env.FAASS_CACERT || undefined));
  const saved = given === undefined ? readTokens(paths).get(gatewayKey(url)) : undefined;
  return remoteTarget(url, given ?? (saved === undefined ? undefined : checkToken(saved, 'the credentials file')), a.cacert ?? (process.env.FAASS_CACERT || undefined));
}

// Commands that act on this host's files and systemd have no remote mode.
const local = (a: Global, command: string, f: () => Promise<number> | number) =>
  run(() => {
    if (gatewayOf(a)) throw new FaassError('FAASS_E_USAGE', `${command} works on the gateway's host only; it has no --gateway (or FAASS_GATEWAY) mode`);
    return f();
  });
const either = (a: Global, remote: (t: Target) => Promise<number>, here: () => Promise<number> | number) => run(() => (gatewayOf(a) ? remote(target(a)) : here()));

void yargs(hideBin(process.argv))
  .scriptName('faassctl')
  .usage('$0 <command> [options]\n\nsystemd-native functions as a service; see faassctl(1).')
  .option('gateway', { type: 'string', global: true, describe: 'drive a gateway through its management API: http(s)://HOST:PORT (default: $FAASS_GATEWAY; none = this host)' })
  .option('token', { type: 'string', global: true, describe: 'credential token NAME.SECRET (default: $FAASS_TOKEN, then the one faassctl login saved for --gateway)' })
  .option('cacert', { type: 'string', global: true, describe: "with an https gateway: trust this CA or certificate file (default: $FAASS_CACERT)" })
  .command('init', 'create or update the gateway settings (faass.conf)', (y) => y.option('port', { type: 'number', describe: 'gateway port on 127.0.0.1' }).option('listen', { type: 'string', describe: 'gateway address: HOST:PORT, [V6]:PORT or /path' }).option('idle', { type: 'number', describe: 'gateway idle exit, seconds (0 = never)' }).option('docker-host', { type: 'string', describe: 'Docker Engine socket, unix:///path' }).option('tls-listen', { type: 'string', describe: 'HTTPS on a second address (needs a key pair: faassctl tls self-signed); "" = off' }).option('http-redirect', { type: 'boolean', describe: 'with --tls-listen: plain HTTP redirects to HTTPS' }).option('metrics', { type: 'boolean', describe: 'GET /metrics and the counting behind it (default on; --no-metrics)' }).option('log-calls', { type: 'boolean', describe: 'one journal line per call (default on; --no-log-calls)' }), (a) => local(a, 'init', () => init(paths, a)))
  .command(
    'deploy <name>',
    'create or update a function, its units, and (re)start it',
    (y) =>
      y
        .positional('name', { type: 'string', demandOption: true, describe: 'lowercase DNS label' })
        .option('runtime', { type: 'string', describe: 'exec, node, python or docker' })
        .option('kind', { type: 'string', describe: 'function (default) or service (a long-running HTTP app)' })
        .option('port', { type: 'number', describe: "service: the app's port on 127.0.0.1 (also given to it as PORT)" })
        .option('health', { type: 'string', describe: 'service: a path that answers 2xx/3xx when the app is ready' })
        .option('ready-timeout', { type: 'number', describe: 'service: seconds the app may take to get ready (default 30)' })
        .option('image', { type: 'string', describe: 'local image (runtime docker)' })
        .option('build', { type: 'string', describe: 'build the image from DIR/Dockerfile (faassctl build rebuilds from DIR); with --from-file: a path inside the code (default .)' })
        .option('network', { type: 'string', describe: 'runtime docker: none (functions\' default), host (services\' default) or bridge (a service\'s port published on 127.0.0.1)' })
        .option('from-file', { type: 'string', describe: 'file or directory to copy as the function code' })
        .option('command', { type: 'string', describe: 'command line (runtime exec; docker: inside the container)' })
        .option('handler', { type: 'string', describe: 'export/function name, or FILE.NAME (Kubeless)' })
        .option('env', { type: 'string', array: true, describe: 'KEY=VALUE for the function (repeatable)' })
        .option('timeout', { type: 'number', describe: 'seconds a call may run (default 30)' })
        .option('idle', { type: 'number', describe: 'seconds without calls before the runner exits (default 10, min 1)' })
        .option('max-inflight', { type: 'number', describe: 'concurrent calls; more get 429 (default 100)' })
        .option('workers', { type: 'number', describe: 'warm node/python workers (default 4)' })
        .option('protocol', { type: 'string', describe: 'raw or framed (original faass output frames)' })
        .option('content-type', { type: 'string', describe: 'response Content-Type (default text/plain)' })
        .option('max-output', { type: 'string', describe: 'largest output, bytes with K/M/G (default 10M)' })
        .option('memory-max', { type: 'string', describe: 'MemoryMax= of the function unit (e.g. 256M)' })
        .option('tasks-max', { type: 'number', describe: 'TasksMax= of the function unit' })
        .option('cpu-quota', { type: 'number', describe: 'CPUQuota= percent of one CPU' })
        .option('auth', { type: 'string', describe: 'credentials that may call it, NAME[,NAME...] (admins always may); "" = public (the default for a new function; an update keeps what was)' })
        .option('public', { type: 'boolean', describe: 'anyone may call it (the same as --auth "")' })
        .option('pass-authorization', { type: 'boolean', describe: "forward the caller's Authorization header to the function" }),
    (a) => either(a, (t) => remoteDeploy(t, a as unknown as DeployArgs), () => deploy(paths, a as unknown as DeployArgs)),
  )
  .command('build <name>', "build a function's image again from its code and switch to it", (y) => y.positional('name', { type: 'string', demandOption: true }), (a) => either(a, (t) => remoteBuild(t, a.name), () => build(paths, a.name)))
  .command('list', 'list functions', (y) => y, (a) => either(a, (t) => remoteList(t), () => list(paths)))
  .command('describe <name>', "show a function's configuration", (y) => y.positional('name', { type: 'string', demandOption: true }), (a) => either(a, (t) => remoteDescribe(t, a.name), () => describe(paths, a.name)))
  .command('delete <name>', 'stop and remove a function, its code and units', (y) => y.positional('name', { type: 'string', demandOption: true }), (a) => either(a, (t) => remoteDelete(t, a.name), () => remove(paths, a.name)))
  .command('generate-units', 'write all units from the configuration', (y) => y.option('dir', { type: 'string', describe: 'write here instead of the user unit directory (no reload)' }), (a) => local(a, 'generate-units', () => generateUnits(paths, a.dir)))
  .command(
    'invoke <name>',
    'call a function through the gateway; the body goes to stdout',
    (y) =>
      y
        .positional('name', { type: 'string', demandOption: true })
        .option('data', { alias: 'd', type: 'string', describe: 'request body, @FILE, or @- for stdin' })
        .option('method', { alias: 'X', type: 'string', describe: 'HTTP method (default POST)' })
        .option('path', { type: 'string', describe: 'path after /function/NAME' })
        .option('header', { alias: 'H', type: 'string', array: true, describe: '"Name: value" (repeatable)' }),
    (a) => run(() => invoke(target(a), { name: a.name, data: a.data, method: a.method, path: a.path, headers: a.header })),
  )
  .command('credentials', 'manage credentials for protected functions and the API', (y) =>
    y
      .command('add <name>', 'create a credential and print its token (shown once)', (y) => y.positional('name', { type: 'string', demandOption: true }).option('admin', { type: 'boolean', describe: 'may use the management API and call every function' }), (a) => local(a, 'credentials', () => credentialsAdd(paths, a.name, a.admin ?? false)))
      .command('list', 'list credentials (names, admin, created; never secrets)', (y) => y, (a) => local(a, 'credentials', () => credentialsList(paths)))
      .command('remove <name>', 'remove a credential: its token stops working at once', (y) => y.positional('name', { type: 'string', demandOption: true }), (a) => local(a, 'credentials', () => credentialsRemove(paths, a.name)))
      .demandCommand(1, 'Name a credentials command: add, list or remove'),
  )
  .command('tls', 'HTTPS for the gateway', (y) =>
    y
      .command('self-signed', 'write a self-signed key pair for local use and serve HTTPS with it', (y) => y.option('days', { type: 'number', describe: 'validity (default 365)' }).option('host', { type: 'string', array: true, describe: 'extra DNS names (localhost, 127.0.0.1 and ::1 are always in)' }), (a) => local(a, 'tls', () => tlsSelfSigned(paths, a)))
      .demandCommand(1, 'Name a tls command: self-signed'),
  )
  .command('login', "check a token against --gateway URL and keep it for that gateway ($XDG_CONFIG_HOME/faass/credentials, mode 0600)", (y) => y.option('token-stdin', { type: 'boolean', describe: 'read the token from stdin (a pipe or file; keeps it out of the process list)' }), (a) => run(() => login(paths, { gateway: gatewayOf(a), token: a.token ?? (process.env.FAASS_TOKEN || undefined), tokenStdin: a.tokenStdin, cacert: a.cacert ?? (process.env.FAASS_CACERT || undefined) })))
  .command('logout', 'forget the token kept for --gateway URL', (y) => y, (a) => run(() => logout(paths, { gateway: gatewayOf(a) })))
  .command('stats <name>', "a function's calls, errors, durations, cold starts and CPU per invocation, since counting began", (y) => y.positional('name', { type: 'string', demandOption: true }).option('since', { type: 'string', describe: 'only calls since then: 30s, 10m, 2h, 7d, or a date and time' }), (a) => local(a, 'stats', () => stats(paths, a.name, a.since)))
  .command('top', 'a live table of what each function uses now: CPU, tasks, memory, calls per second', (y) => y.option('interval', { type: 'number', describe: 'seconds between tables (default 2)' }).option('iterations', { alias: 'n', type: 'number', describe: 'print this many tables, then exit (default: until Ctrl-C)' }), (a) => local(a, 'top', () => top(paths, a)))
  .command('status', 'units, sockets and running faass processes (exit 1 if a unit failed)', (y) => y, (a) => local(a, 'status', () => status(paths)))
  .command(
    'logs <name>',
    'journal of a function (or "gateway")',
    (y) =>
      y
        .positional('name', { type: 'string', demandOption: true })
        .option('follow', { alias: 'f', type: 'boolean' })
        .option('lines', { alias: 'n', type: 'number' })
        .option('priority', { alias: 'p', type: 'string' })
        .option('since', { type: 'string' })
        .option('call', { type: 'string', describe: "one call's lines: its X-Call-Id (returned with every answer)" }),
    (a) => local(a, 'logs', () => logs(a.name, a)),
  )
  .command('serve', 'run the gateway and all runners in the foreground, without systemd', (y) => y, (a) => local(a, 'serve', () => serve(paths)))
  .demandCommand(1, 'Name a command; see faassctl --help')
  .strict()
  .help()
  .alias('help', 'h')
  .version(false)
  .fail((msg, err) => {
    process.stderr.write(`faassctl: ${err ? err.message : msg}\n`);
    process.exit(2);
  })
  .parse();

Promise.resolve(result)
  .then((code) => {
    process.exitCode = code;
  })
  .catch((e: unknown) => {
    process.stderr.write(`faassctl: ${e instanceof FaassError ? `${e.message} (${e.code})` : (e as Error).message}\n`);
    process.exitCode = e instanceof FaassError ? e.exitCode : 1;
  });
