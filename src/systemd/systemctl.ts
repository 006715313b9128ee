import { execFile } from 'node:child_process';
import { FaassError } from '../core/errors';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: opts.timeoutMs ?? 60000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? ((err as unknown as { code: number }).code) : 127) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (err && !stderr ? err.message : '')) });
    });
  });
}

export async function systemctl(...args: string[]): Promise<string> {
  const r = await run('systemctl', ['--user', ...args]);
  if (r.code !== 0) throw new FaassError('FAASS_E_SYSTEMD_FAILED', `systemctl --user ${args.join(' ')} failed: ${r.stderr.trim().split('\n')[0] || `exit ${r.code}`}`);
  return r.stdout;
}

// A user manager answers on $XDG_RUNTIME_DIR/systemd/private (or the session bus).
export async function managerReachable(): Promise<boolean> {
  const r = await run('systemctl', ['--user', 'show', '--property=Version'], { timeoutMs: 10000 });
  return r.code === 0 && r.stdout.startsWith('Version=');
}

// The properties asked for, of one unit (systemctl show prints "Name=value" lines); a unit that
// is not loaded still answers, with LoadState=not-found.
export async function showUnit(unit: string, properties: string[]): Promise<Record<string, string>> {
  const out = await systemctl('show', `--property=${properties.join(',')}`, '--', unit);
  return Object.fromEntries(out.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}
