// The settings a deploy gives on the command line, as the function file's keys: the same for a
// deploy on this host (deploy.ts) and through a gateway's API (remote.ts).
import { FunctionInput } from '../functions/function-config';
import { fail } from '../core/errors';
import { validateName } from '../core/validate';

export interface DeployArgs {
  name: string;
  runtime?: string;
  fromFile?: string;
  command?: string;
  image?: string;
  build?: string;
  network?: string;
  kind?: string;
  port?: number;
  health?: string;
  readyTimeout?: string;
  handler?: string;
  env?: string[];
  timeout?: string;
  idle?: string;
  maxInflight?: number;
  workers?: number;
  protocol?: string;
  contentType?: string;
  maxOutput?: string;
  memoryMax?: string;
  tasksMax?: number;
  cpuQuota?: number;
  scratchMax?: string;
  auth?: string;
  public?: boolean;
  passAuthorization?: boolean;
  secret?: string[]; // names of secrets (faassctl secret create), never values
  retries?: number;
  retryMaxAge?: string;
  queueMax?: number;
  schedule?: string; // not a key of the function's file: its schedules' (functions/schedules.ts)
  scheduleTz?: string;
  scheduleBody?: string;
  topic?: string[]; // not a key of the function's file either: its topics' (functions/topics.ts)
  watch?: string; // a file drop of the function's (functions/file-drops.ts), like --schedule
  watchPattern?: string;
  message?: string; // the version's, not a key of the function's file (functions/versions.ts)
  canary?: string; // deploy as a canary with this share (functions/canary.ts), and its rule:
  canaryHeader?: string;
  canaryMaxErrors?: string;
  canaryWindow?: string;
  canaryMinCalls?: string;
}

export function parseEnvPairs(pairs: string[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) fail('FAASS_E_USAGE', `Invalid --env ${JSON.stringify(p)}: expected KEY=VALUE`);
    env[p.slice(0, i)] = p.slice(i + 1);
  }
  return env;
}

// The settings a deploy gives, as the function file's keys (shared by local and remote mode).
// build: the build context as it will be seen where the deploy runs.
export function deployInput(a: DeployArgs, build: string | undefined): FunctionInput {
  validateName(a.name);
  if (!a.fromFile && a.command === undefined && a.image === undefined && a.build === undefined && !a.runtime) fail('FAASS_E_USAGE', 'deploy needs --runtime and --from-file PATH, --command CMD, --image IMAGE or --build');
  if (a.public && a.auth) fail('FAASS_E_USAGE', '--public and --auth exclude each other');
  if (a.build === '' && !a.fromFile) fail('FAASS_E_USAGE', '--build needs a directory with a Dockerfile (or --from-file DIR --build)');
  const input: FunctionInput = {
    runtime: a.runtime ?? (a.image !== undefined || build !== undefined ? 'docker' : a.command !== undefined ? 'exec' : undefined),
    command: a.command,
    image: a.image,
    build,
    network: a.network,
    kind: a.kind,
    port: a.port,
    health: a.health,
    ready_timeout: a.readyTimeout,
    protocol: a.protocol,
    timeout: a.timeout,
    idle: a.idle,
    max_inflight: a.maxInflight,
    workers: a.workers,
    max_output: a.maxOutput,
    content_type: a.contentType,
    memory_max: a.memoryMax,
    tasks_max: a.tasksMax,
    cpu_quota: a.cpuQuota,
    scratch_max: a.scratchMax,
    auth: a.public ? '' : a.auth,
    pass_authorization: a.passAuthorization,
    secrets: a.secret?.join(','),
    retries: a.retries,
    retry_max_age: a.retryMaxAge,
    queue_max: a.queueMax,
    env: parseEnvPairs(a.env),
  };
  for (const k of Object.keys(input) as (keyof FunctionInput)[]) if (input[k] === undefined) delete input[k];
  const numeric = ['timeout', 'idle', 'max_inflight', 'workers', 'tasks_max', 'cpu_quota', 'port', 'ready_timeout', 'retries', 'retry_max_age', 'queue_max'] as const;
  for (const k of numeric) if (input[k] !== undefined) input[k] = String(input[k]);
  return input;
}

