// faass functions as an OpenFaaS stack.yml (faassctl export --to openfaas), in the format
// faassctl up reads (stacks/stack-file.ts): each function is its image, which serves on 8080 as
// OpenFaaS's watchdog does (faassctl up reads such an image as a container service there, so the
// file comes back into faass too), with environment, secrets and limits; its first schedule and
// its topics become connector annotations; faass's own settings that OpenFaaS has no key for
// ride under x-faass, which OpenFaaS ignores and faassctl up applies. Pure.
import { cronOf } from '../functions/cron';
import { FUNCTION_DEFAULTS } from '../functions/function-config';
import { X_FAASS_KEYS } from '../stacks/openfaas';
import { ExportFunction, notMapped } from './mapping';
import { Doc, ExportOptions, Exported, cpuQuantity, imageOf, memoryQuantity, uncronable } from './common';

// The cron-connector calls the functions annotated with this topic.
const CRON_TOPIC = 'cron-function';

// faass's settings kept for the way back (faassctl up applies x-faass): those a container
// service takes, and only where they differ from the defaults, so the file stays short.
function xFaass(f: ExportFunction): Record<string, string> {
  const { cfg } = f;
  const d = FUNCTION_DEFAULTS;
  const out: Record<string, string | number | undefined> = {
    timeout: cfg.timeout !== d.timeout ? cfg.timeout : undefined,
    idle: cfg.idle !== d.idle ? cfg.idle : undefined,
    max_inflight: cfg.maxInflight !== d.maxInflight ? cfg.maxInflight : undefined,
    tasks_max: cfg.tasksMax,
    scratch_max: cfg.scratchMax !== d.scratchMax ? cfg.scratchMax : undefined,
    auth: cfg.auth.length ? cfg.auth.join(',') : undefined,
    pass_authorization: cfg.passAuthorization ? 'yes' : undefined,
    retries: cfg.retries !== d.retries ? cfg.retries : undefined,
    retry_max_age: cfg.retryMaxAge !== d.retryMaxAge ? cfg.retryMaxAge : undefined,
    queue_max: cfg.queueMax !== d.queueMax ? cfg.queueMax : undefined,
  };
  return Object.fromEntries(Object.entries(out).filter((e): e is [string, string | number] => e[1] !== undefined && X_FAASS_KEYS.includes(e[0])).map(([k, v]) => [k, String(v)]));
}

function annotations(f: ExportFunction): { annotations: Record<string, string>; notMapped: string[] } {
  const lines: string[] = [];
  const topics: string[] = [];
  let schedule: string | undefined;
  for (const s of f.triggers.schedules) {
    const cron = cronOf(s.spec);
    if (cron === null) lines.push(uncronable(f, s, 'openfaas'));
    else if (schedule !== undefined) lines.push(`${f.cfg.name}: schedule ${s.id} "${s.spec}": not mapped to openfaas: the cron-connector takes one schedule a function`);
    if (cron === null || schedule !== undefined) continue;
    schedule = cron;
    topics.push(CRON_TOPIC);
  }
  topics.push(...f.topics, ...f.triggers.nats.map((n) => n.subject));
  return { annotations: { ...(topics.length ? { topic: [...new Set(topics)].join(',') } : {}), ...(schedule ? { schedule } : {}) }, notMapped: lines };
}

function stackFunction(f: ExportFunction, o: ExportOptions): { fn: Doc; notMapped: string[] } {
  const { cfg } = f;
  const limits = { ...(cfg.memoryMax ? { memory: memoryQuantity(cfg.memoryMax) } : {}), ...(cfg.cpuQuota ? { cpu: cpuQuantity(cfg.cpuQuota) } : {}) };
  const a = annotations(f);
  const x = xFaass(f);
  const fn: Doc = {
    image: imageOf(f, o),
    ...(Object.keys(cfg.env).length ? { environment: { ...cfg.env } } : {}),
    ...(cfg.secrets.length ? { secrets: [...cfg.secrets] } : {}),
    ...(Object.keys(limits).length ? { limits } : {}),
    labels: { 'com.openfaas.scale.zero': 'true', 'com.openfaas.scale.zero-duration': `${Math.ceil(cfg.idle)}s` },
    ...(Object.keys(a.annotations).length ? { annotations: a.annotations } : {}),
    ...(Object.keys(x).length ? { 'x-faass': x } : {}),
  };
  return { fn, notMapped: a.notMapped };
}

export function toOpenfaas(fns: readonly ExportFunction[], o: ExportOptions): Exported {
  const lines: string[] = [];
  const functions: Record<string, Doc> = {};
  for (const f of fns) {
    const s = stackFunction(f, o);
    functions[f.cfg.name] = s.fn;
    lines.push(...notMapped('openfaas', f), ...s.notMapped);
  }
  const stack = { version: '1.0', provider: { name: 'openfaas' }, functions };
  const secrets = [...new Set(fns.flatMap((f) => f.cfg.secrets))].sort();
  return { manifests: [{ file: 'stack.yml', docs: [stack] }], notMapped: lines, secretCommands: secrets.map((s) => `faas-cli secret create ${s} --from-file=PATH-TO-${s.toUpperCase()}-VALUE`) };
}
