// faassctl serve: faass without a user manager (a container, a CI shell, WSL), the same product
// in one process tree: serve/stack.ts runs the programs the units run, handing them sockets as
// systemd does, fires the triggers as their timers and path units would (serve/triggers.ts), and
// follows every change of the shared state without a restart.
import { Paths } from '../core/paths';
import { Address, address } from '../core/validate';
import { loadSettings } from '../core/settings';
import { fail } from '../core/errors';
import { Stack } from '../serve/stack';
import { Watcher } from '../serve/watch';
import { removeServeState, readServeState, writeServeState } from '../systemd/serve-link';
import { serveLogDir } from '../serve/log-files';
import { Register } from './cli';

// --port N: the configured host on port N; --listen ADDR: any address faass.conf's listen takes.
// For this run only: faass.conf is not changed.
export function listenOverride(paths: Paths, a: { port?: string; listen?: string }): Address | undefined {
  if (a.port !== undefined && a.listen !== undefined) fail('FAASS_E_USAGE', 'Give --port or --listen, not both');
  if (a.listen !== undefined) return address('--listen', a.listen);
  if (a.port === undefined) return undefined;
  if (!/^\d{1,5}$/.test(a.port) || Number(a.port) < 1 || Number(a.port) > 65535) fail('FAASS_E_USAGE', `Invalid --port ${JSON.stringify(String(a.port))}: a port number, 1-65535`);
  const l = loadSettings(paths).listen;
  const host = l.kind === 'tcp' ? l.host : '127.0.0.1';
  return address('--port', `${host.includes(':') ? `[${host}]` : host}:${a.port}`);
}

export async function serve(paths: Paths, a: { port?: string; listen?: string }): Promise<number> {
  const listen = listenOverride(paths, a);
  const other = readServeState(paths);
  if (other) fail('FAASS_E_USAGE', `faassctl serve already runs (pid ${other.pid}, on ${other.listen}); one serve per user`);
  const started = new Date().toISOString();
  const say = (line: string) => process.stderr.write(line + '\n');
  const stack = new Stack(paths, listen, say);
  const record = () => {
    try {
      writeServeState(paths, stack.state(started));
    } catch (e) {
      say(`faassctl serve: cannot write its state file: ${(e as Error).message}`);
    }
  };
  stack.onProgramsChange(record);
  await stack.start();
  record();
  const watcher = new Watcher(() => stack.watched(), () => void stack.update().then(record));
  const s = stack.state(started);
  say(`faassctl serve: gateway on ${s.listen}${s.https ? ` and ${s.https}` : ''}${s.console ? `, console on ${s.console}` : ''}, ${s.functions.length} function(s); logs in ${serveLogDir(paths)}; Ctrl-C stops`);
  return new Promise((resolve) => {
    const stop = () => {
      watcher.close();
      void stack.stop().then(() => {
        removeServeState(paths);
        resolve(0);
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // A command changed the shared state and waits for it to be taken up (systemd/serve-link.ts).
    process.on('SIGHUP', () => void stack.update().then(record));
  });
}

export const register: Register = (y, cli) =>
  y.command(
    'serve',
    'run faass in the foreground without systemd: gateway, API, runners, services and triggers, following every deploy, delete, trigger and setting',
    (y) =>
      y
        .option('port', { type: 'string', describe: "listen on this port (faass.conf listen's host) for this run only" })
        .option('listen', { type: 'string', describe: 'listen on this address (HOST:PORT, [V6]:PORT, PORT or /path) for this run only' }),
    (a) => cli.local(a, 'serve', () => serve(cli.paths, a)),
  );
