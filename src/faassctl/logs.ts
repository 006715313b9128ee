// faassctl logs NAME: the function's journal (or the gateway's).
import { spawn } from 'node:child_process';
import { FaassError, fail } from '../core/errors';
import { validateName } from '../core/validate';
import { functionUnitBase } from '../systemd/units';
import { isValidCallId } from '../core/http-util';
import { Register } from './cli';

// A function's journal: its runner's (or app's and proxy's) lines, the call lines the gateway
// logs for a service, and the manager's messages about its units; --call: one call's lines only.
export function logs(name: string, a: { follow?: boolean; lines?: number; priority?: string; since?: string; call?: string }): Promise<number> {
  const args = ['--no-pager', '-o', 'short-iso'];
  if (name === 'gateway') args.push('--user-unit=faass-gateway.service');
  else {
    const base = functionUnitBase(validateName(name));
    if (a.call !== undefined) {
      if (!isValidCallId(a.call)) fail('FAASS_E_USAGE', `Invalid call id ${JSON.stringify(a.call.slice(0, 80))}: letters, digits and . _ : - (as in X-Call-Id)`);
      args.push(`FAASS_FUNCTION=${name}`, `FAASS_CALL_ID=${a.call}`);
    } else {
      const units = [`${base}.service`, `${base}-app.service`];
      args.push(`FAASS_FUNCTION=${name}`, ...units.flatMap((u) => ['+', `_SYSTEMD_USER_UNIT=${u}`, '+', `USER_UNIT=${u}`]));
    }
  }
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
    'journal of a function (or "gateway")',
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
