// faassctl deploy NAME: create or update a function from the command line's settings.
import * as path from 'node:path';
import { Paths } from '../core/paths';
import { deployFunction, keepAccess } from '../functions/deploy';
import { BuildProgress, withProgress } from './progress';
import { sayApplied, sayDependencies, sayWarnings } from './report';
import { remoteDeploy } from './remote';
import { Register } from './cli';
import { DeployArgs, deployInput } from './deploy-input';
import { unservable } from '../serve/service-activator';
import { checkSchedule, ensureFileDrop, ensureSchedule } from '../functions/triggers';
import { describeDrop, describeSchedule, dropInput, scheduleInput, sayTopic } from './trigger';
import { buildFileDrop } from '../functions/file-drops';
import { subscribe } from '../functions/topics';
import { validateTopic } from '../core/validate';
import { Target, sendJson } from './client';
import { fail } from '../core/errors';
import { MESSAGE_MAX } from '../functions/versions';
import { deployCanary } from '../functions/canary';
import { describeRoute } from './canary';

export async function deploy(paths: Paths, a: DeployArgs): Promise<number> {
  if (a.canary !== undefined) return deployCanaryHere(paths, a);
  refuseCanaryOptions(a);
  // --build DIR: a directory of the user's, rebuilt from in place by faassctl build; with
  // --from-file DIR, --build [PATH] names the context inside the copied code (default .).
  const build = a.build === undefined ? undefined : a.fromFile ? a.build || '.' : a.build && path.resolve(a.build);
  const input = deployInput(a, build);
  keepAccess(paths, a.name, input);
  // --schedule: judged before anything is deployed, added once the function is there.
  const schedule = a.schedule !== undefined ? scheduleInput({ schedule: a.schedule, tz: a.scheduleTz, body: a.scheduleBody }) : null;
  if (schedule) await checkSchedule('0', schedule);
  const topics = (a.topic ?? []).map(validateTopic); // judged before anything is deployed too
  const drop = a.watch !== undefined ? dropInput({ watch: a.watch, pattern: a.watchPattern }) : null;
  if (drop) buildFileDrop('0', drop); // its form; the directory itself is judged as it is added
  const progress = build !== undefined ? new BuildProgress(process.stdout) : null;
  const { config, report, warnings, version, dependencies } = await withProgress(progress, () => deployFunction(paths, { name: a.name, input, fromFile: a.fromFile, handlerSpec: a.handler, message: a.message, onBuild: progress?.event }));
  sayDependencies(dependencies);
  sayApplied(report, `Deployed ${config.name} (${config.runtime}) ${sayVersion(version)}; call it at /function/${config.name}`);
  // Under faassctl serve, a service it cannot run would fail only at its first call: said now.
  const notUnderServe = report.serve ? unservable(config) : null;
  sayWarnings(notUnderServe ? [...warnings, notUnderServe] : warnings);
  if (schedule) {
    const s = await ensureSchedule(paths, config.name, schedule);
    process.stdout.write(`${s.added ? 'Added' : 'Kept'} ${describeSchedule(s.view, s.next)}\n`);
  }
  for (const topic of topics) {
    const r = subscribe(paths, config.name, topic);
    process.stdout.write(`${sayTopic(config.name, r.topic, r.added)}\n`);
  }
  if (drop) {
    const d = await ensureFileDrop(paths, config.name, drop);
    process.stdout.write(`${d.added ? 'Added' : 'Kept'} ${describeDrop(d.view)}\n`);
  }
  return 0;
}

export const sayVersion = (v: { number: number; fresh: boolean }): string => (v.fresh ? `as version ${v.number}` : `unchanged, still version ${v.number}`);

// --topic with --gateway: the function deployed through the API, then subscribed through it.
async function remoteDeployWithTopics(t: Target, a: DeployArgs): Promise<number> {
  const topics = (a.topic ?? []).map(validateTopic);
  const code = await remoteDeploy(t, a);
  for (const topic of topics) {
    const r = (await sendJson(t, 'POST', `/system/triggers/${a.name}`, { topic })) as { topic: string; added: boolean };
    process.stdout.write(`${sayTopic(a.name, r.topic, r.added)}\n`);
  }
  return code;
}

// deploy --canary SHARE: a new version beside the current one (functions/canary.ts), with no
// trigger (a trigger's calls are queued, and queued calls go to the current version).
async function deployCanaryHere(paths: Paths, a: DeployArgs): Promise<number> {
  const extra = a.schedule !== undefined ? '--schedule' : a.watch !== undefined ? '--watch' : a.topic?.length ? '--topic' : a.build !== undefined ? '--build' : null;
  if (extra) fail('FAASS_E_USAGE', `--canary does not go with ${extra}: deploy the canary, promote it, then add that`);
  const input = deployInput(a, undefined);
  keepAccess(paths, a.name, input);
  const r = await deployCanary(paths, { name: a.name, input, fromFile: a.fromFile, handlerSpec: a.handler, message: a.message }, { percent: a.canary, header: a.canaryHeader, maxErrors: a.canaryMaxErrors, window: a.canaryWindow, minCalls: a.canaryMinCalls });
  sayApplied(r.report, `Deployed ${a.name} as version ${r.route.version}, a canary beside version ${r.current ?? '?'}: ${describeRoute(r.route)}`);
  return 0;
}

function refuseCanaryOptions(a: DeployArgs): void {
  const given = ([['canary-header', a.canaryHeader], ['canary-max-errors', a.canaryMaxErrors], ['canary-window', a.canaryWindow], ['canary-min-calls', a.canaryMinCalls]] as const).find(([, v]) => v !== undefined);
  if (given) fail('FAASS_E_USAGE', `--${given[0]} goes with --canary SHARE`);
}

// Schedules are this host's timers: the API has no route for them yet.
function noRemoteSchedule(a: DeployArgs): DeployArgs {
  if (a.canary !== undefined && (a.schedule !== undefined || a.watch !== undefined || a.topic?.length || a.build !== undefined)) fail('FAASS_E_USAGE', '--canary does not go with --schedule, --watch, --topic or --build: deploy the canary, promote it, then add that');
  if (a.schedule !== undefined || a.watch !== undefined) fail('FAASS_E_USAGE', `--${a.schedule !== undefined ? 'schedule' : 'watch'} works on the gateway's host only (faassctl trigger add there); it has no --gateway mode yet`);
  return a;
}

export const register: Register = (y, cli) =>
  y.command(
    'deploy <name>',
    'create or update a function, its units, and (re)start it',
    (y) =>
      y
        .positional('name', { type: 'string', demandOption: true, describe: 'lowercase DNS label' })
        .option('runtime', { type: 'string', describe: 'exec, node, python or docker' })
        .option('kind', { type: 'string', describe: 'function (default) or service (a long-running HTTP app)' })
        .option('port', { type: 'number', describe: "service: the app's port on 127.0.0.1 (also given to it as PORT)" })
        .option('health', { type: 'string', describe: 'service: a path that answers 2xx/3xx when the app is ready' })
        .option('ready-timeout', { type: 'string', describe: 'service: how long the app may take to get ready: seconds or a systemd time span such as 45s, 2min (default 30s)' })
        .option('image', { type: 'string', describe: 'local image (runtime docker)' })
        .option('build', { type: 'string', describe: 'build the image from DIR/Dockerfile (faassctl build rebuilds from DIR); with --from-file: a path inside the code (default .)' })
        .option('network', { type: 'string', describe: "none (the default: a network of its own; a service is reached only through faass), host, or for runtime docker bridge (a service's port published on 127.0.0.1)" })
        .option('from-file', { type: 'string', describe: 'file or directory to copy as the function code' })
        .option('command', { type: 'string', describe: 'command line (runtime exec; docker: inside the container)' })
        .option('handler', { type: 'string', describe: 'export/function name, or FILE.NAME (Kubeless)' })
        .option('env', { type: 'string', array: true, describe: 'KEY=VALUE for the function (repeatable)' })
        .option('timeout', { type: 'string', describe: 'how long a call may run: seconds or a systemd time span such as 500ms, 5min, 1h 30min (default 30s)' })
        .option('idle', { type: 'string', describe: 'how long without calls before the runner exits: seconds or a time span such as 90s, 5min (default 10s, min 1s)' })
        .option('max-inflight', { type: 'number', describe: 'concurrent calls; more get 429 (default 100)' })
        .option('workers', { type: 'number', describe: 'warm node/python workers; docker: containers at once, later calls wait their turn (default 4)' })
        .option('protocol', { type: 'string', describe: 'raw or framed (original faass output frames)' })
        .option('content-type', { type: 'string', describe: 'response Content-Type (default text/plain)' })
        .option('max-output', { type: 'string', describe: 'largest output, bytes with K/M/G (default 10M)' })
        .option('memory-max', { type: 'string', describe: 'memory of the function as a whole (e.g. 256M): MemoryMax= of its unit; docker: of all its containers together, each gets memory-max/workers (default 2G; a service: 512M)' })
        .option('tasks-max', { type: 'number', describe: 'tasks (processes, threads) of the function as a whole: TasksMax= of its unit (default 512); docker: of all its containers together, each gets tasks-max/workers (default 1024; a service: 256)' })
        .option('cpu-quota', { type: 'number', describe: 'CPU of the function as a whole, percent of one CPU: CPUQuota= of its unit; docker: of all its containers together, each gets cpu-quota/workers (default none)' })
        .option('scratch-max', { type: 'string', describe: 'size of each of its own /tmp, /var/tmp and /dev/shm (memory-backed), bytes with K/M/G (default 64M)' })
        .option('auth', { type: 'string', describe: 'credentials that may call it, NAME[,NAME...] (admins always may); "" = public (the default for a new function; an update keeps what was)' })
        .option('public', { type: 'boolean', describe: 'anyone may call it (the same as --auth "")' })
        .option('pass-authorization', { type: 'boolean', describe: "forward the caller's Authorization header to the function" })
        .option('secret', { type: 'string', array: true, describe: 'give it this secret (faassctl secret create; repeatable): read from $CREDENTIALS_DIRECTORY/NAME and /var/openfaas/secrets/NAME; a redeploy without it gives none' })
        .option('retries', { type: 'number', describe: 'asynchronous calls: attempts after the first on 5xx, 429 or no answer (default 2)' })
        .option('retry-max-age', { type: 'string', describe: 'asynchronous calls: how old a call may get before it is dead: a time span such as 30min, 6h (default 6h)' })
        .option('queue-max', { type: 'number', describe: 'asynchronous calls: how many may wait; more are refused with 429 (default 10000)' })
        .option('schedule', { type: 'string', describe: 'also call it on a schedule (faassctl trigger add): a calendar expression or a cron line; a redeploy with the same one adds nothing' })
        .option('schedule-tz', { type: 'string', describe: "with --schedule: its time zone (default: the host's)" })
        .option('schedule-body', { type: 'string', describe: "with --schedule: each call's body (default empty)" })
        .option('topic', { type: 'string', array: true, describe: 'also subscribe it to this topic (faassctl trigger add --topic; repeatable): each message published to it queues a call' })
        .option('watch', { type: 'string', describe: 'also call it for each file dropped into this directory (faassctl trigger add --watch); a redeploy with the same one adds nothing' })
        .option('message', { type: 'string', describe: `a line about this version (faassctl versions), at most ${MESSAGE_MAX} characters` })
        .option('watch-pattern', { type: 'string', describe: "with --watch: only names this glob matches (default *)" })
        .option('canary', { type: 'string', describe: 'deploy as a canary: a new version beside the current one that gets this share of the calls, such as 10% (faassctl canary, promote, abort)' })
        .option('canary-header', { type: 'string', describe: 'with --canary: calls with this header (such as X-User) go to the same side for the same value' })
        .option('canary-max-errors', { type: 'string', describe: "with --canary: abort it when more than this share of its calls fail (5xx, timeouts), such as 20% (default: never)" })
        .option('canary-window', { type: 'string', describe: 'with --canary: the time span its errors are counted over (default 1min)' })
        .option('canary-min-calls', { type: 'string', describe: 'with --canary: calls in the window before its error share is judged (default 10)' }),
    (a) => cli.either(a, (t) => remoteDeployWithTopics(t, noRemoteSchedule(a as unknown as DeployArgs)), () => deploy(cli.paths, a as unknown as DeployArgs)),
  );
