// faassctl canary NAME, promote NAME, abort NAME (functions/canary.ts): on this host, or with
// --gateway through the management API.
import { abortCanary, canaryView, CanaryView, promoteCanary } from '../functions/canary';
import { formatSeconds } from '../core/timespan';
import { validateName } from '../core/validate';
import { sayApplied } from './report';
import { Target, sendJson } from './client';
import type { Argv } from 'yargs';
import { Cli, Global, Register } from './cli';
import { Paths } from '../core/paths';

// The canary's share and rule, in a line.
export function describeRoute(r: { percent: number; header: string | null; maxErrors: number | null; window: number; minCalls: number }): string {
  const split = r.header ? `${r.percent}% of the calls, by the hash of their ${r.header} header (calls without it at random)` : `${r.percent}% of the calls, at random`;
  const limit = r.maxErrors === null ? 'no automatic abort' : `aborted when over ${r.maxErrors}% of its calls fail within ${formatSeconds(r.window)} (from ${r.minCalls} calls)`;
  return `${split}; ${limit}`;
}


function printCanary(v: CanaryView, json: boolean): number {
  if (json) {
    process.stdout.write(JSON.stringify(v, null, 2) + '\n');
    return 0;
  }
  const share = v.calls > 0 ? ` (${Number(((v.errors / v.calls) * 100).toFixed(1))}%)` : '';
  const lines = [
    `${v.function}: canary version ${v.version} beside version ${v.current ?? '?'} since ${v.started.replace(/\.\d+Z$/, 'Z')}, ${v.state}`,
    `route: ${describeRoute({ percent: v.percent, header: v.header, maxErrors: v.max_errors, window: v.window, minCalls: v.min_calls })}`,
    `seen: ${v.calls} calls, ${v.errors} errors${share} in its last ${formatSeconds(v.window)}${v.seen_at ? ` as of ${v.seen_at.replace(/\.\d+Z$/, 'Z')}` : ' (no call yet)'}`,
    ...(v.aborted ? [`aborted by the gateway at ${v.aborted.at.replace(/\.\d+Z$/, 'Z')}: ${v.aborted.reason}; every call goes to version ${v.current ?? '?'} (the next command that touches units removes it)`] : []),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

// Through the API: what it answers, said as here (notes: canaries the gateway had aborted).
async function remote(t: Target, name: string, what: 'promote' | 'abort'): Promise<number> {
  const r = (await sendJson(t, 'POST', `/system/function/${validateName(name)}/${what}`)) as { from?: number | null; to?: number; version?: number | null; notes?: string[] };
  for (const note of r.notes ?? []) process.stdout.write(`${note}\n`);
  process.stdout.write(what === 'promote' ? `${promoted(name, r.from ?? null, r.to as number)} on ${t.label}\n` : `${aborted(name, r.version ?? null)} on ${t.label}\n`);
  return 0;
}

const promoted = (name: string, from: number | null, to: number) => `Promoted the canary of ${name}: version ${to} is current${from !== null && from !== to ? ` (was ${from})` : ''}`;
const aborted = (name: string, version: number | null) => `Aborted the canary of ${name}${version !== null ? ` (version ${version})` : ''}; every call goes to its current version`;

export const register: Register = (y, cli) =>
  y
    .command(
      'canary <name>',
      "a function's canary: its version, share, and the calls and errors the gateway saw in its window",
      (y) => y.positional('name', { type: 'string', demandOption: true }).option('json', { type: 'boolean', describe: 'as JSON' }),
      (a) =>
        cli.either(
          a,
          async (t) => printCanary((await sendJson(t, 'GET', `/system/function/${validateName(a.name)}/canary`)) as CanaryView, a.json ?? false),
          () => printCanary(canaryView(cli.paths, a.name), a.json ?? false),
        ),
    )
    .command(...ending(cli, 'promote'))
    .command(...ending(cli, 'abort'));

// promote and abort: the same command but for what ends the canary and how it is said.
const ENDINGS = {
  promote: {
    describe: "make a function's canary its current version (no call fails) and remove the canary's runner",
    local: async (paths: Paths, name: string) => {
      const r = await promoteCanary(paths, name);
      return { report: r.report, said: promoted(name, r.from, r.to) };
    },
  },
  abort: {
    describe: "remove a function's canary; its current version is not touched",
    local: async (paths: Paths, name: string) => {
      const r = await abortCanary(paths, name);
      return { report: r.report, said: aborted(name, r.version) };
    },
  },
};

function ending(cli: Cli, what: 'promote' | 'abort') {
  return [
    `${what} <name>`,
    ENDINGS[what].describe,
    (y: Argv<Global>) => y.positional('name', { type: 'string', demandOption: true }),
    (a: Global & { name: string }) =>
      cli.either(
        a,
        (t) => remote(t, a.name, what),
        async () => {
          const r = await ENDINGS[what].local(cli.paths, a.name);
          sayApplied(r.report, r.said);
          return 0;
        },
      ),
  ] as const;
}
