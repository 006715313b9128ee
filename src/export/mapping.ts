// Where each faass function setting goes on each export target (faassctl export, issue 17): the
// one table the "not mapped" report, the man page's list and the golden test all come from. A
// setting either maps (and the target's module, knative.ts, kubernetes.ts or openfaas.ts, writes
// it where this says) or is reported, a line per function on stderr and in NOT-MAPPED.txt: a
// setting is never dropped without a word.
import { FunctionConfig, FUNCTION_DEFAULTS } from '../functions/function-config';
import { Triggers } from '../functions/schedules';

export const TARGETS = ['knative', 'kubernetes', 'openfaas'] as const;
export type TargetName = (typeof TARGETS)[number];

// A function as the export sees it: its settings and its triggers (none from a stack file).
export interface ExportFunction {
  readonly cfg: FunctionConfig;
  readonly triggers: Triggers;
  readonly topics: readonly string[];
}

interface Where {
  readonly mapped: boolean;
  readonly text: string; // where it goes, or why it cannot
}

export interface Setting {
  readonly key: string; // the function file's key (faass.conf(5)), or a trigger's
  // The value as the report shows it when the function has it; undefined: nothing to map.
  readonly value: (f: ExportFunction) => string | undefined;
  readonly to: Readonly<Record<TargetName, Where>>;
}

const to = (text: string): Where => ({ mapped: true, text });
const not = (text: string): Where => ({ mapped: false, text });
const all = (w: Where): Record<TargetName, Where> => ({ knative: w, kubernetes: w, openfaas: w });
const shown = (v: string | number | undefined): string | undefined => (v === undefined ? undefined : String(v));
const nonDefault = <K extends keyof typeof FUNCTION_DEFAULTS>(k: K) => (f: ExportFunction) => (f.cfg[k] !== FUNCTION_DEFAULTS[k] ? String(f.cfg[k]) : undefined);
const schedulesWith = (f: ExportFunction, pick: (s: Triggers['schedules'][number]) => string | undefined): string | undefined => {
  const vs = f.triggers.schedules.map((s) => pick(s)).filter((v): v is string => v !== undefined);
  return vs.length ? vs.join(', ') : undefined;
};

// The image's own: how the code is run lives in the image (faassctl image carries the function's
// file, and the runner in it serves the function on $PORT as faass does).
const IN_IMAGE = to('in the image IMAGE-PREFIX/NAME:VERSION (faassctl image): its runner serves the function on $PORT as faass does');

export const SETTINGS: readonly Setting[] = [
  { key: 'version', value: (f) => shown(f.cfg.version?.number), to: all(to('the image tag VERSION (--tag overrides; latest when the function has no version)')) },
  { key: 'kind', value: (f) => f.cfg.kind, to: all(IN_IMAGE) },
  { key: 'runtime', value: (f) => f.cfg.runtime, to: all(IN_IMAGE) },
  { key: 'command', value: (f) => f.cfg.command, to: all(IN_IMAGE) },
  { key: 'image', value: (f) => f.cfg.image, to: all(IN_IMAGE) },
  { key: 'build', value: (f) => f.cfg.build, to: all(IN_IMAGE) },
  { key: 'file', value: (f) => f.cfg.file, to: all(IN_IMAGE) },
  { key: 'handler', value: (f) => f.cfg.handler, to: all(IN_IMAGE) },
  { key: 'convention', value: (f) => (f.cfg.convention !== 'faass' ? f.cfg.convention : undefined), to: all(IN_IMAGE) },
  { key: 'protocol', value: nonDefault('protocol'), to: all(IN_IMAGE) },
  { key: 'workers', value: nonDefault('workers'), to: all(IN_IMAGE) },
  { key: 'max_output', value: nonDefault('maxOutput'), to: all(IN_IMAGE) },
  { key: 'content_type', value: (f) => f.cfg.contentType, to: all(IN_IMAGE) },
  { key: 'port', value: (f) => shown(f.cfg.port), to: all(to("in the image: the app's port, behind the image's front, which serves on $PORT (8080)")) },
  {
    key: 'health',
    value: (f) => f.cfg.health,
    to: { knative: to("in the image: its /_/ready, the readinessProbe, is 200 only while this path answers 2xx/3xx"), kubernetes: to("in the image: its /_/ready, the readinessProbe, is 200 only while this path answers 2xx/3xx"), openfaas: not("OpenFaaS probes the watchdog's own /_/health") },
  },
  {
    key: 'ready_timeout',
    value: (f) => (f.cfg.kind === 'service' ? String(f.cfg.readyTimeout) : undefined),
    to: { knative: not("Knative waits for readiness under its own progress deadline (the cluster's config-deployment)"), kubernetes: to('in the image, and a startupProbe on /_/ready: failureThreshold READY_TIMEOUT at periodSeconds 1'), openfaas: not('OpenFaaS waits for readiness under its own deadline') },
  },
  {
    key: 'network',
    value: (f) => (f.cfg.runtime === 'docker' || f.cfg.kind === 'service' ? f.cfg.network : undefined),
    to: all(not("a pod has the cluster's network: write a NetworkPolicy to keep it in")),
  },
  {
    key: 'timeout',
    value: (f) => String(f.cfg.timeout),
    to: { knative: to('spec.template.spec.timeoutSeconds (rounded up), and in the image'), kubernetes: to('in the image (its runner ends a call past it; a Service has no request timeout)'), openfaas: to("in the image (its runner ends a call past it); the OpenFaaS gateway's own timeouts are the installation's") },
  },
  {
    key: 'idle',
    value: (f) => String(f.cfg.idle),
    to: {
      knative: to('scale to zero: autoscaling.knative.dev/min-scale "0" and scale-to-zero-pod-retention-period IDLEs'),
      kubernetes: not('no scale to zero: a Deployment keeps at least one pod (the HorizontalPodAutoscaler scales 1-10 on CPU)'),
      openfaas: to('labels com.openfaas.scale.zero "true" and com.openfaas.scale.zero-duration IDLEs (OpenFaaS Standard/Enterprise scale to zero)'),
    },
  },
  {
    key: 'max_inflight',
    value: (f) => String(f.cfg.maxInflight),
    to: { knative: to('spec.template.spec.containerConcurrency'), kubernetes: not('a Service has no per-pod concurrency limit'), openfaas: not('OpenFaaS has no per-function concurrency limit outside the watchdog it does not use here') },
  },
  { key: 'memory_max', value: (f) => f.cfg.memoryMax, to: { knative: to('resources.limits.memory'), kubernetes: to('resources.limits.memory and requests.memory'), openfaas: to('limits.memory') } },
  { key: 'cpu_quota', value: (f) => shown(f.cfg.cpuQuota), to: { knative: to('resources.limits.cpu (percent x 10 millicores)'), kubernetes: to('resources.limits.cpu and requests.cpu (percent x 10 millicores)'), openfaas: to('limits.cpu (percent x 10 millicores)') } },
  { key: 'tasks_max', value: (f) => shown(f.cfg.tasksMax), to: all(not("a pod's process limit is the node's (kubelet podPidsLimit)")) },
  {
    key: 'scratch_max',
    value: nonDefault('scratchMax'),
    to: { knative: to('resources.limits.ephemeral-storage (the whole writable space, not each of /tmp, /var/tmp, /dev/shm)'), kubernetes: to('resources.limits.ephemeral-storage (the whole writable space, not each of /tmp, /var/tmp, /dev/shm)'), openfaas: not('a stack file has no storage limit') },
  },
  {
    key: 'auth',
    value: (f) => (f.cfg.auth.length ? f.cfg.auth.join(',') : undefined),
    to: {
      knative: not('no per-function callers: the Service is made cluster-local (networking.knative.dev/visibility) so nothing outside the cluster reaches it; put an authenticating ingress in front'),
      kubernetes: not('no per-function callers: the Service is a ClusterIP, reached only inside the cluster; put an authenticating ingress in front'),
      openfaas: not('OpenFaaS has no per-function callers (kept as x-faass.auth for a way back to faass): whoever reaches its gateway may call it'),
    },
  },
  {
    key: 'pass_authorization',
    // "yes" maps (the header reaches the function); "no", the default, does not.
    value: (f) => (f.cfg.passAuthorization ? undefined : 'no'),
    to: all(not("a caller's Authorization header reaches the function: nothing strips it as faass does")),
  },
  {
    key: 'secrets',
    value: (f) => (f.cfg.secrets.length ? f.cfg.secrets.join(',') : undefined),
    to: {
      knative: to('a projected volume of the Secrets at /var/openfaas/secrets/NAME (never their values; kubectl create secret lines are written)'),
      kubernetes: to('a projected volume of the Secrets at /var/openfaas/secrets/NAME (never their values; kubectl create secret lines are written)'),
      openfaas: to('secrets: (faas-cli secret create NAME; never their values)'),
    },
  },
  { key: 'env', value: (f) => (Object.keys(f.cfg.env).length ? Object.keys(f.cfg.env).join(',') : undefined), to: { knative: to('env (PORT and K_* are Knative\'s own: reported)'), kubernetes: to('env'), openfaas: to('environment') } },
  { key: 'retries', value: nonDefault('retries'), to: { knative: not("asynchronous calls are faass's queue: the target has no per-function retry count"), kubernetes: not("asynchronous calls are faass's queue: no per-function retry count (a schedule's CronJob retries its call RETRIES times: backoffLimit)"), openfaas: not("asynchronous calls are faass's queue: the target has no per-function retry count") } },
  { key: 'retry_max_age', value: nonDefault('retryMaxAge'), to: all(not("asynchronous calls are faass's queue: the target has no per-function age limit")) },
  { key: 'queue_max', value: nonDefault('queueMax'), to: all(not("asynchronous calls are faass's queue: the target has no per-function queue limit")) },
  {
    key: 'schedule',
    value: (f) => schedulesWith(f, (s) => `${s.id}:${s.spec}`),
    to: { knative: to('a sources.knative.dev/v1 PingSource per schedule, its sink the Service (a calendar expression cron cannot say is reported)'), kubernetes: to('a batch/v1 CronJob per schedule that POSTs to the Service (curl)'), openfaas: to('annotations topic cron-function and schedule (the cron-connector: the first schedule only)') },
  },
  { key: 'schedule.tz', value: (f) => schedulesWith(f, (s) => s.tz), to: { knative: to('PingSource spec.timezone'), kubernetes: to('CronJob spec.timeZone'), openfaas: not("the cron-connector runs in its own time zone") } },
  { key: 'schedule.body', value: (f) => schedulesWith(f, (s) => (s.body ? `${s.id}:${Buffer.byteLength(s.body)} bytes` : undefined)), to: { knative: to('PingSource spec.data'), kubernetes: to("the CronJob's POST body"), openfaas: not('the cron-connector calls with an empty body') } },
  { key: 'schedule.overlap', value: (f) => schedulesWith(f, (s) => `${s.id}:${s.overlap}`), to: { knative: not('a PingSource fires whether or not the last call ended'), kubernetes: to('CronJob concurrencyPolicy (allow: Allow, skip: Forbid)'), openfaas: not('the cron-connector fires whether or not the last call ended') } },
  { key: 'schedule.catch_up', value: (f) => schedulesWith(f, (s) => `${s.id}:${s.catchUp}`), to: { knative: not('a PingSource does not make up a missed time'), kubernetes: to('CronJob startingDeadlineSeconds (once: unset, one missed run is made up; none: 60)'), openfaas: not('the cron-connector does not make up a missed time') } },
  { key: 'schedule.jitter', value: (f) => schedulesWith(f, (s) => (s.jitter ? `${s.id}:${s.jitter}` : undefined)), to: all(not('cron fires on the minute: no random delay')) },
  {
    key: 'topics',
    value: (f) => (f.topics.length ? f.topics.join(',') : undefined),
    to: { knative: not("faass's POST /topic has no Broker here: subscribe the Service with a Knative Eventing Trigger"), kubernetes: not('Kubernetes has no topics'), openfaas: to('annotation topic (a connector, such as the NATS or Kafka one, calls it)') },
  },
  { key: 'nats', value: (f) => (f.triggers.nats.length ? f.triggers.nats.map((n) => `${n.id}:${n.subject}`).join(', ') : undefined), to: { knative: not('a NATS source is an add-on (eventing-natss): not written'), kubernetes: not('Kubernetes has no NATS bridge'), openfaas: to('annotation topic: the subject (the nats-connector; its server is the connector\'s)') } },
  { key: 'watch', value: (f) => (f.triggers.drops.length ? f.triggers.drops.map((d) => `${d.id}:${d.watch}`).join(', ') : undefined), to: all(not("a file drop watches a directory on this host: a cluster has no such directory")) },
];

// Lines for what a function has that the target does not map, in the table's order.
export function notMapped(target: TargetName, f: ExportFunction): string[] {
  const out: string[] = [];
  for (const s of SETTINGS) {
    const v = s.value(f);
    const w = s.to[target];
    if (v !== undefined && !w.mapped) out.push(`${f.cfg.name}: ${s.key}=${v.length > 60 ? `${v.slice(0, 57)}...` : v}: not mapped to ${target}: ${w.text}`);
  }
  return out;
}

// The whole table, a setting a block: what the golden test pins and faassctl-export(1) lists.
export function renderMapping(): string {
  return SETTINGS.map((s) => [s.key, ...TARGETS.map((t) => `  ${t.padEnd(10)} ${s.to[t].mapped ? 'maps:' : 'NOT MAPPED:'} ${s.to[t].text}`)].join('\n')).join('\n') + '\n';
}
