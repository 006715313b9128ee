// faassctl serve, the stand-in for the user manager (src/serve/): where it is and how a command
// hands it a change. It keeps $XDG_RUNTIME_DIR/faass/serve.json while it runs (written when what
// it runs changes, removed when it stops), so status, top, logs and the local client find it; a
// file left by a serve killed with SIGKILL names a pid that is gone (or not a faassctl serve) and
// is ignored. A command that changed the shared state asks serve to take it up (SIGHUP, as a
// reload) and waits until serve applied a re-scan begun after the change, as systemctl waits for
// its job: a function is callable when deploy returns, under serve as under systemd.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths } from '../core/paths';
import { writeFileAtomic } from '../core/fs-atomic';

export interface ServedProgram {
  name: string; // gateway, api, dispatch, a function's name, or a trigger's units' name (faass-fn-NAME-at-ID)
  role: 'gateway' | 'api' | 'runner' | 'app' | 'dispatch' | 'schedule' | 'drop' | 'nats';
  pid: number | null; // null: not running now (a service's app while idle, a program restarting)
}

export interface ServeState {
  pid: number;
  started: string; // ISO 8601
  listen: string; // the gateway's main address, as this run listens (--port, --listen)
  https?: string; // tls_listen, when HTTPS has a socket of its own
  console?: string; // console_listen: the web console's own address
  api: boolean; // the management API's socket is served (an admin credential exists)
  programs: ServedProgram[];
  functions: { name: string; kind: string }[];
  scanned: number; // when the last re-scan serve finished applying began (ms since the epoch)
}

// How long a command waits for serve to take its change up (a redeploy waits for the old
// runner's calls to finish, as systemctl restart does).
export const TAKE_UP_MS = 60000;
const POLL_MS = 50;

export const serveStatePath = (p: Paths): string => path.join(p.runtimeDir, 'serve.json');

export function writeServeState(paths: Paths, state: ServeState): void {
  writeFileAtomic(serveStatePath(paths), JSON.stringify(state, null, 1) + '\n');
}

export function removeServeState(paths: Paths): void {
  fs.rmSync(serveStatePath(paths), { force: true });
}

// The running serve's state, or null when none runs.
export function readServeState(paths: Paths): ServeState | null {
  let state: ServeState;
  try {
    state = JSON.parse(fs.readFileSync(serveStatePath(paths), 'utf8')) as ServeState;
  } catch {
    return null;
  }
  return Number.isInteger(state.pid) && isServe(state.pid) ? state : null;
}

// pid runs faassctl serve (a reused pid runs something else).
function isServe(pid: number): boolean {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('serve');
  } catch {
    return false;
  }
}

// Asks a running serve to take up what the caller changed; resolves with its state once it has,
// null when no serve runs, 'late' when it did not within TAKE_UP_MS.
export async function serveTakeUp(paths: Paths): Promise<ServeState | 'late' | null> {
  const since = Date.now();
  const first = readServeState(paths);
  if (!first) return null;
  try {
    process.kill(first.pid, 'SIGHUP');
  } catch {
    return null; // it ended meanwhile
  }
  for (const end = since + TAKE_UP_MS; Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    const s = readServeState(paths);
    if (!s) return null;
    if (s.scanned >= since) return s;
  }
  return 'late';
}
