import * as path from 'node:path';
import { FunctionConfig } from '../functions/function-config';
import { FaassError } from '../core/errors';
import { Call, CallResult, Executor, timedOut, watchdogEnv, wroteTooMuch } from './call';
import { parseFramed } from './framed';
import { LineLogger } from './line-logger';
import { killGroup as killProcessGroup } from '../core/process-group';
import { splitCommand } from '../functions/command-line';
import { spawnFunction } from './fast-spawn';


export function commandArgv(cfg: FunctionConfig, codeDir: string): string[] {
  return cfg.command !== undefined ? splitCommand(cfg.command) : [path.join(codeDir, cfg.file as string)];
}

// CREDENTIALS_DIRECTORY: where a function with secrets finds them (units.ts functionCredentials);
// the path only, never a value.
export function baseEnv(cfg: FunctionConfig): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'USER', 'TMPDIR', ...(cfg.secrets.length > 0 ? ['CREDENTIALS_DIRECTORY'] : [])]) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return { ...env, ...cfg.env };
}

// runtime=exec: a fresh process group per request, body on stdin, stdout is the answer.
export class ExecExecutor implements Executor {
  private readonly argv: string[];
  private readonly env: Record<string, string>;

  constructor(
    private readonly cfg: FunctionConfig,
    private readonly codeDir: string,
  ) {
    this.argv = commandArgv(cfg, codeDir);
    this.env = baseEnv(cfg);
  }

  describe(): string {
    return `exec ${JSON.stringify(this.argv)}`;
  }

  async close(): Promise<void> {}

  invoke(call: Call): Promise<CallResult> {
    const cfg = this.cfg;
    return new Promise((resolve, reject) => {
      // Its own process group (fast-spawn.ts), so a timeout kills everything the function started.
      const child = spawnFunction(this.argv[0], this.argv.slice(1), {
        cwd: this.codeDir,
        env: { ...this.env, ...watchdogEnv(call), ...(call.outbox ? { FAASS_OUTBOX: call.outbox } : {}) },
      });
      const chunks: Buffer[] = [];
      let outBytes = 0;
      let settled = false;
      const stderr = new LineLogger(cfg.name, 'err', call.id);
      const finish = (err: FaassError | null, result?: CallResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(result as CallResult);
      };
      const killGroup = () => void killProcessGroup(child.pid);
      const timer = setTimeout(() => {
        killGroup();
        finish(timedOut(cfg));
      }, cfg.timeout * 1000);
      child.on('error', (e: NodeJS.ErrnoException) => {
        finish(new FaassError('FAASS_E_FUNCTION_FAILED', `Failed to start function ${cfg.name}: ${e.code === 'ENOENT' ? `command not found: ${this.argv[0]}` : e.message}`));
      });
      child.stdin.on('error', () => {
        // the function need not read its input (EPIPE)
      });
      child.stdin.end(call.body);
      child.stdout.on('data', (d: Buffer) => {
        outBytes += d.length;
        if (outBytes > cfg.maxOutput) {
          killGroup();
          finish(wroteTooMuch(cfg));
          return;
        }
        chunks.push(d);
      });
      child.stderr.on('data', (d: Buffer) => stderr.write(d));
      child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
        stderr.end();
        killGroup(); // leftovers of the group that closed their stdio but kept running
        if (settled) return;
        if (code !== 0) {
          finish(new FaassError('FAASS_E_FUNCTION_FAILED', `Function ${cfg.name} ${signal ? `was killed by ${signal}` : `exited with status ${code}`}`));
          return;
        }
        const out = Buffer.concat(chunks);
        if (cfg.protocol === 'framed') {
          const parsed = parseFramed(out);
          if (!parsed.ok) {
            finish(new FaassError('FAASS_E_FRAME_MALFORMED', `Function ${cfg.name} returned a malformed frame: ${parsed.reason}`));
            return;
          }
          finish(null, parsed.value);
          return;
        }
        finish(null, { status: 200, headers: { 'content-type': cfg.contentType ?? 'text/plain; charset=utf-8' }, body: out });
      });
    });
  }
}
