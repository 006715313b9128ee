// faassctl canary NAME, promote NAME, abort NAME (functions/canary.ts): on the gateway's host
// only for now (deploy --canary has no --gateway mode yet either).
import { abortCanary, canaryView, CanaryView, promoteCanary } from '../functions/canary';
import { formatSeconds } from '../core/timespan';
import { sayApplied } from './report';
import { describeRoute } from './deploy';
import { Register } from './cli';

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

export const register: Register = (y, cli) =>
  y
    .command(
      'canary <name>',
      "a function's canary: its version, share, and the calls and errors the gateway saw in its window",
      (y) => y.positional('name', { type: 'string', demandOption: true }).option('json', { type: 'boolean', describe: 'as JSON' }),
      (a) => cli.local(a, 'canary', () => printCanary(canaryView(cli.paths, a.name), a.json ?? false)),
    )
    .command(
      'promote <name>',
      "make a function's canary its current version (no call fails) and remove the canary's runner",
      (y) => y.positional('name', { type: 'string', demandOption: true }),
      (a) =>
        cli.local(a, 'promote', async () => {
          const r = await promoteCanary(cli.paths, a.name);
          sayApplied(r.report, `Promoted the canary of ${a.name}: version ${r.to} is current${r.from !== null && r.from !== r.to ? ` (was ${r.from})` : ''}`);
          return 0;
        }),
    )
    .command(
      'abort <name>',
      "remove a function's canary; its current version is not touched",
      (y) => y.positional('name', { type: 'string', demandOption: true }),
      (a) =>
        cli.local(a, 'abort', async () => {
          const r = await abortCanary(cli.paths, a.name);
          sayApplied(r.report, `Aborted the canary of ${a.name}${r.version !== null ? ` (version ${r.version})` : ''}; every call goes to its current version`);
          return 0;
        }),
    );
