// faassctl logs NAME: the function's journal (or the gateway's, or the API's).
import { spawn } from 'node:child_process';
import { FaassError, fail } from '../core/errors';
import { validateName } from '../core/validate';
import { isFaassLogName } from '../systemd/journal-match';
import { NO_JOURNAL, journalUnreadable, logMatch } from '../functions/log-match';
import { isValidCallId } from '../core/http-util';
import { Paths, resolvePaths } from '../core/paths';
import { readServeState } from '../systemd/serve-link';
import { followLog, logFilter, readLogLines, serveLogPath } from '../serve/log-files';
import { Register } from './cli';

// A function's journal: its runner's (or app's and proxy's) lines, the call lines the gateway
// logs for a service, and the manager's messages about its units; --call: one call's lines only.
// Chosen by the units journald saw send them, never by fields a sender sets (journal-match.ts):
// a function can write lines into its own log only.
export function logs(name: string, a: { follow?: boolean; lines?: number; priority?: string; since?: string; call?: string }, paths: Paths = resolvePaths()): Promise<number> {
  if (!isFaassLogName(name)) validateName(name);
  if (a.call !== undefined && !isValidCallId(a.call)) fail('FAASS_E_USAGE', `Invalid call id ${JSON.stringify(a.call.slice(0, 80))}: letters, digits and . _ : - (as in X-Call-Id)`);
  if (readServeState(paths)) return serveLogs(paths, name, a);
  const args = ['--no-pager', '-o', 'short-iso', ...logMatch(paths, name, a.call)];
  if (a.lines !== undefined && !(Number.isInteger(a.lines) && a.lines >= 0)) fail('FAASS_E_USAGE', `Invalid --lines ${JSON.stringify(String(a.lines))}: expected a whole number`);
  if (a.follow) args.push('-f');
  if (a.lines !== undefined) args.push('-n', String(a.lines));
  if (a.priority) args.push('-p', a.priority);
  if (a.since) args.push('--since', a.since);
  return new Promise((resolve, reject) => {
    // stderr is read, not inherited: journalctl says it opened no journal file on stderr and
    // exits 0, and a user would take the empty output for a function that logged nothing.
    const child = spawn('journalctl', args, { stdio: ['inherit', 'inherit', 'pipe'] });
    let unreadable = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (NO_JOURNAL.test(d)) unreadable = true;
      else process.stderr.write(d);
    });
    child.on('error', (e) => {
      reject(new FaassError('FAASS_E_SYSTEMD_UNREACHABLE', `Cannot run journalctl: ${e.message}`));
    });
    child.on('close', (code) => {
      if (unreadable) reject(journalUnreadable(name));
      else resolve(code ?? 1);
    });
  });
}

// While faassctl serve runs, its programs log to files of its own (serve/log-files.ts), not to
// the journal: those are read instead, with the same options but --since (journalctl's dates).
async function serveLogs(paths: Paths, name: string, a: { follow?: boolean; lines?: number; priority?: string; since?: string; call?: string }): Promise<number> {
  if (a.since !== undefined) fail('FAASS_E_USAGE', `--since reads the journal; while faassctl serve runs, the logs are its files (${serveLogPath(paths, name)}): use --lines N`);
  if (a.lines !== undefined && !(Number.isInteger(a.lines) && a.lines >= 0)) fail('FAASS_E_USAGE', `Invalid --lines ${JSON.stringify(String(a.lines))}: expected a whole number`);
  const keep = logFilter(a);
  if (typeof keep === 'string') fail('FAASS_E_USAGE', keep);
  const kept = readLogLines(paths, name).filter(keep);
  const shown = a.lines === undefined ? kept : a.lines === 0 ? [] : kept.slice(-a.lines);
  process.stdout.write(shown.map((l) => l + '\n').join(''));
  if (a.follow) await followLog(paths, name, keep, (s) => void process.stdout.write(s));
  return 0;
}

export const register: Register = (y, cli) =>
  y.command(
    'logs <name>',
    'journal of a function (or "gateway", "api")',
    (y) =>
      y
        .positional('name', { type: 'string', demandOption: true, describe: 'a function, or gateway, or api' })
        .option('follow', { alias: 'f', type: 'boolean', describe: 'keep printing new lines as they come (journalctl -f)' })
        .option('lines', { alias: 'n', type: 'number', describe: 'only the last N lines' })
        .option('priority', { alias: 'p', type: 'string', describe: 'only lines of this priority or more urgent: err, warning, info, debug (journalctl -p)' })
        .option('since', { type: 'string', describe: 'only lines since: "10 min ago", "today", "2026-12-01 09:00" (journalctl --since)' })
        .option('call', { type: 'string', describe: "one call's lines: its X-Call-Id (returned with every answer)" }),
    (a) => cli.local(a, 'logs', () => logs(a.name, a, cli.paths)),
  );
