// faassctl versions NAME and faassctl rollback NAME [--to N] (functions/versions.ts,
// functions/rollback.ts): on this host, or with --gateway through the management API.
import { Paths } from '../core/paths';
import { fail } from '../core/errors';
import { validateName } from '../core/validate';
import { VersionView, versionsView } from '../functions/versions';
import { rollbackFunction } from '../functions/rollback';
import { sayApplied } from './report';
import { Target, sendJson } from './client';
import { Register } from './cli';

const short = (digest: string) => digest.slice(0, 12);

function printVersions(rows: VersionView[], json: boolean): number {
  if (json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  const table = [['', 'VERSION', 'TIME', 'WHO', 'CODE', 'SETTINGS', 'MESSAGE'], ...rows.map((r) => [r.current ? '*' : '', String(r.number), r.time.replace(/\.\d+Z$/, 'Z'), r.via === 'api' ? `${r.who} (api)` : r.who, short(r.code_digest), short(r.settings_digest), r.message])];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) process.stdout.write(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd() + '\n');
  return 0;
}

// --to N as the user typed it: digits, from 1. Read as text, not as yargs's number: that takes
// 0x1 and 1e0, says NaN for a word, and leaves a bare --to undefined, which is the default
// rollback: a forgotten number must not roll anything back.
export function versionNumber(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) fail('FAASS_E_USAGE', 'Invalid --to: given more than once');
  const text = String(v);
  if (!/^[1-9]\d*$/.test(text) || !Number.isSafeInteger(Number(text))) fail('FAASS_E_USAGE', `Invalid --to ${JSON.stringify(text.slice(0, 20))}: expected a version number (faassctl versions NAME lists them)`);
  return Number(text);
}

async function rollbackHere(paths: Paths, name: string, to: number | undefined, restoreAccess: boolean): Promise<number> {
  const r = await rollbackFunction(paths, name, { to, restoreAccess });
  sayApplied(r.report, `Rolled ${name} back to version ${r.to}${r.from !== null ? ` (from ${r.from})` : ''}`);
  return 0;
}

async function rollbackRemote(t: Target, name: string, to: number | undefined, restoreAccess: boolean): Promise<number> {
  validateName(name);
  const r = (await sendJson(t, 'POST', `/system/function/${name}/rollback`, { ...(to !== undefined ? { to } : {}), ...(restoreAccess ? { restore_access: true } : {}) })) as { from: number | null; to: number; notes?: string[] };
  for (const note of r.notes ?? []) process.stdout.write(`${note}\n`); // a canary the rollback removed
  process.stdout.write(`Rolled ${name} back to version ${r.to}${r.from !== null ? ` (from ${r.from})` : ''} on ${t.label}\n`);
  return 0;
}

export const register: Register = (y, cli) =>
  y
    .command(
      'versions <name>',
      "a function's numbered versions: number, time, who, digests of code and settings, message; * marks the current one",
      (y) => y.positional('name', { type: 'string', demandOption: true }).option('json', { type: 'boolean', describe: 'as JSON' }),
      (a) =>
        cli.either(
          a,
          async (t) => printVersions((await sendJson(t, 'GET', `/system/function/${validateName(a.name)}/versions`)) as VersionView[], a.json ?? false),
          () => printVersions(versionsView(cli.paths, a.name), a.json ?? false),
        ),
    )
    .command(
      'rollback <name>',
      'switch a function back to one of its versions, code and settings in one step (default: the one before the current)',
      (y) =>
        y
          .positional('name', { type: 'string', demandOption: true })
          .option('to', { type: 'string', describe: 'the version number to go back to (faassctl versions NAME)' })
          .option('restore-access', { type: 'boolean', describe: 'also when that version lets more callers in (auth, pass_authorization) than the current one' }),
      (a) => {
        const to = () => versionNumber(a.to);
        cli.either(a, (t) => rollbackRemote(t, a.name, to(), a.restoreAccess ?? false), () => rollbackHere(cli.paths, a.name, to(), a.restoreAccess ?? false));
      },
    );
