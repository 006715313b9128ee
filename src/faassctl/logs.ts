// faassctl logs NAME: the function's journal (or the gateway's, or the API's).
import { spawn } from 'node:child_process';
import { FaassError, fail } from '../core/errors';
import { validateName } from '../core/validate';
import { journalMatch, isFaassLogName } from '../systemd/journal-match';
import { isValidCallId } from '../core/http-util';
import { Register } from './cli';

// A function's journal: its runner's (or app's and proxy's) lines, the call lines the gateway
// logs for a service, and the manager's messages about its units; --call: one call's lines only.
// Chosen by the units journald saw send them, never by fields a sender sets (journal-match.ts):
// a function can write lines into its own log only.
export function logs(name: string, a: { follow?: boolean; lines?: number; priority?: string; since?: string; call?: string }): Promise<number> {
  if (!isFaassLogName(name)) validateName(name);
  if (a.call !== undefined && !isValidCallId(a.call)) fail('FAASS_E_USAGE', `Invalid call id ${JSON.stringify(a.call.slice(0, 80))}: letters, digits and . _ : - (as in X-Call-Id)`);
  const args = ['--no-pager', '-o', 'short-iso', ...journalMatch(name, process.getuid?.() ?? 0, a.call)];
  if (a.follow) args.push('-f');
  if (a.lines !== undefined) args.push('-n', String(a.lines));
  if (a.priority) args.push('-p', a.priority);
  if (a.since) args.push('--since', a.since);
  return new Promise((resolve, reject) => {
    const child = spawn('journalctl', args, { stdio: 'inherit' });
    child.on('error', (e) => {
      reject(new FaassError('FAASS_E_SYSTEMD_UNREACHABLE', `Cannot run journalctl: ${e.message}`));
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

export const register: Register = (y, cli) =>
  y.command(
    'logs <name>',
    'journal of a function (or "gateway", "api")',
    (y) =>
      y
        .positional('name', { type: 'string', demandOption: true })
        .option('follow', { alias: 'f', type: 'boolean' })
        .option('lines', { alias: 'n', type: 'number' })
        .option('priority', { alias: 'p', type: 'string' })
        .option('since', { type: 'string' })
        .option('call', { type: 'string', describe: "one call's lines: its X-Call-Id (returned with every answer)" }),
    (a) => cli.local(a, 'logs', () => logs(a.name, a)),
  );
