// faassctl up -f stack.yml, faassctl down -f stack.yml, faassctl stack versions|rollback NAME
// (faassctl-up(1)): a stack file's functions deployed, deleted or rolled back as one change.
import { Paths } from '../core/paths';
import { fail } from '../core/errors';
import { STACK_FILE_MAX, readRegularFile } from '../core/bounded-read';
import { parseStack, Stack } from '../stacks/stack-file';
import { toDeploySpec } from '../stacks/openfaas';
import { DeploySpec } from '../functions/deploy-plan';
import { PlanEntry, downStack, rollbackStack, stackVersions, upStack } from '../functions/stack-deploy';
import { sayApplied, sayRecovered, sayWarnings } from './report';
import { Register } from './cli';
import { versionNumber } from './versions';
import { Target, sendJson } from './client';
import { remoteUp } from './stack-remote';
import { validateName } from '../core/validate';
import type { StackRecord } from '../functions/stacks';

function readStack(file: string): { stack: Stack; specs: DeploySpec[] } {
  const text = readRegularFile(file, STACK_FILE_MAX, 'stack file');
  const stack = parseStack(text, file, process.env, (f) => readRegularFile(f, STACK_FILE_MAX, 'environment_file'));
  const mapped = stack.functions.map((f) => toDeploySpec(f, stack.dir));
  // What faass reads without acting on: a line each, not an error.
  for (const line of [...stack.ignored, ...mapped.flatMap((m) => m.ignored)]) process.stderr.write(`faassctl: ${line}\n`);
  return { stack, specs: mapped.map((m) => m.spec) };
}

function printPlan(plan: PlanEntry[]): void {
  for (const e of plan) {
    process.stdout.write(`${e.action.padEnd(9)} ${e.name}\n`);
    for (const c of e.changes) process.stdout.write(`    ${c}\n`);
    if (e.refused) process.stdout.write(`    error: ${e.refused.message}\n`);
  }
}

async function up(paths: Paths, a: { file: string; dryRun?: boolean; filter?: string[]; message?: string }): Promise<number> {
  const { stack, specs } = readStack(a.file);
  const r = await upStack(paths, stack.name, specs, { filter: a.filter, message: a.message, dryRun: a.dryRun });
  if (!r.fresh) sayRecovered(r.recovered); // else said with what the up applied
  printPlan(r.plan);
  const refused = r.plan.filter((e) => e.refused);
  // As the up itself would: refused, with the plan's errors above (nothing changed either way).
  if (a.dryRun && refused.length) fail((refused[0].refused as NonNullable<PlanEntry['refused']>).code, `Dry run: the up would be refused (${refused.map((e) => e.name).join(', ')}: see error above); nothing changed`);
  if (a.dryRun) process.stdout.write(`Dry run: nothing changed (stack ${stack.name}${r.version !== null ? `, version ${r.version}` : ''})\n`);
  else if (!r.fresh) process.stdout.write(`Stack ${stack.name} unchanged${r.version !== null ? `, still version ${r.version}` : ''}\n`);
  else sayApplied(r.report as NonNullable<typeof r.report>, `Stack ${stack.name} is version ${r.version}`);
  sayWarnings(r.warnings);
  return 0;
}

async function down(paths: Paths, a: { file: string }): Promise<number> {
  const { stack } = readStack(a.file);
  const r = await downStack(paths, stack.name, stack.functions.map((f) => f.name));
  for (const n of r.deleted) process.stdout.write(`delete    ${n}\n`);
  sayApplied(r.report, `Stack ${stack.name} removed (${r.deleted.length} function${r.deleted.length === 1 ? '' : 's'})`);
  sayWarnings(r.warnings);
  return 0;
}

// Through the API (--gateway): the stack file is read here, its function names sent.
async function remoteDown(t: Target, a: { file: string }): Promise<number> {
  const { stack } = readStack(a.file);
  const r = (await sendJson(t, 'POST', `/system/stack/${stack.name}/down`, { functions: stack.functions.map((f) => f.name) })) as { deleted: string[]; warnings: string[] };
  for (const n of r.deleted) process.stdout.write(`delete    ${n}\n`);
  process.stdout.write(`Stack ${stack.name} removed on ${t.label} (${r.deleted.length} function${r.deleted.length === 1 ? '' : 's'})\n`);
  sayWarnings(r.warnings);
  return 0;
}

type VersionRow = StackRecord & { current: boolean };

function printVersions(rows: VersionRow[], json: boolean): number {
  if (json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  else
    for (const r of rows) {
      const fns = Object.entries(r.functions).map(([n, k]) => `${n}@${k}`).join(' ');
      process.stdout.write(`${r.current ? '*' : ' '} ${r.number}  ${r.time.replace(/\.\d+Z$/, 'Z')}  ${r.who}  ${fns}${r.message ? `  ${r.message}` : ''}\n`);
    }
  return 0;
}

function versions(paths: Paths, name: string, json: boolean): number {
  const v = stackVersions(paths, name);
  if (v.records.length === 0) fail('FAASS_E_VERSION_NOT_FOUND', `No stack named ${name} (faassctl up records one)`);
  return printVersions(v.records.map((r) => ({ ...r, current: r.number === v.current })), json);
}

async function remoteVersions(t: Target, name: string, json: boolean): Promise<number> {
  validateName(name);
  return printVersions((await sendJson(t, 'GET', `/system/stack/${name}/versions`)) as VersionRow[], json);
}

async function remoteRollback(t: Target, name: string, to: number | undefined, restoreAccess: boolean): Promise<number> {
  validateName(name);
  const r = (await sendJson(t, 'POST', `/system/stack/${name}/rollback`, { ...(to !== undefined ? { to } : {}), ...(restoreAccess ? { restore_access: true } : {}) })) as { from: number | null; to: number; changed: string[]; deleted: string[] };
  for (const n of r.changed) process.stdout.write(`rollback  ${n}\n`);
  for (const n of r.deleted) process.stdout.write(`delete    ${n}\n`);
  process.stdout.write(`Rolled stack ${name} back to version ${r.to}${r.from !== null ? ` (from ${r.from})` : ''} on ${t.label}\n`);
  return 0;
}

async function rollback(paths: Paths, name: string, to: number | undefined, restoreAccess: boolean): Promise<number> {
  const r = await rollbackStack(paths, name, { to, restoreAccess });
  for (const n of r.changed) process.stdout.write(`rollback  ${n}\n`);
  for (const n of r.deleted) process.stdout.write(`delete    ${n}\n`);
  sayApplied(r.report, `Rolled stack ${name} back to version ${r.to}${r.from !== null ? ` (from ${r.from})` : ''}`);
  return 0;
}

const fileOption = { alias: 'f', type: 'string', demandOption: true, describe: 'the stack file (OpenFaaS stack.yml format)' } as const;

export const register: Register = (y, cli) =>
  y
    .command(
      'up',
      'deploy every function of a stack file as one change: all or none (faassctl-up(1))',
      (y) =>
        y
          .option('file', fileOption)
          .option('dry-run', { type: 'boolean', describe: 'print the plan (create, update, delete, unchanged, with the settings that change) and change nothing' })
          .option('filter', { type: 'string', array: true, describe: 'only these functions (no deletions)' })
          .option('message', { type: 'string', describe: 'a line about this stack version and its functions' }),
      (a) =>
        cli.either(
          a,
          (t) => {
            const { stack, specs } = readStack(a.file);
            return remoteUp(t, stack.name, specs, a, printPlan);
          },
          () => up(cli.paths, a as unknown as { file: string; dryRun?: boolean; filter?: string[]; message?: string }),
        ),
    )
    .command(
      'down',
      "delete a stack file's functions (and those its last up deployed) as one change",
      (y) => y.option('file', fileOption),
      (a) => cli.either(a, (t) => remoteDown(t, a as unknown as { file: string }), () => down(cli.paths, a as unknown as { file: string })),
    )
    .command('stack', "a stack's versions and rollback", (y) =>
      y
        .command(
          'versions <name>',
          "a stack's versions: which function at which version; * marks the current one",
          (y) => y.positional('name', { type: 'string', demandOption: true }).option('json', { type: 'boolean' }),
          (a) => cli.either(a, (t) => remoteVersions(t, a.name, a.json ?? false), () => versions(cli.paths, a.name, a.json ?? false)),
        )
        .command(
          'rollback <name>',
          "switch every function of a stack back to a stack version's in one step (default: the one before)",
          (y) => y.positional('name', { type: 'string', demandOption: true }).option('to', { type: 'string' }).option('restore-access', { type: 'boolean' }),
          (a) => cli.either(a, (t) => remoteRollback(t, a.name, versionNumber(a.to), a.restoreAccess ?? false), () => rollback(cli.paths, a.name, versionNumber(a.to), a.restoreAccess ?? false)),
        )
        .demandCommand(1, 'Name a stack command: versions or rollback'),
    );
