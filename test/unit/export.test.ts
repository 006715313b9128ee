// faassctl export (issue 17): functions as Knative, Kubernetes and OpenFaaS manifests. Every
// Kubernetes and Knative object written is validated against its published schema
// (test/support/k8s-schemas.ts), the OpenFaaS stack.yml is read back as faassctl up reads it,
// golden files pin the mapping of every setting, and what does not map is reported, never
// dropped.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { FUNCTION_KEYS, FunctionConfig, buildFunctionConfig, renderFunctionConfig } from '../../src/functions/function-config';
import { Triggers, buildSchedule, renderTriggers, schedulesPath } from '../../src/functions/schedules';
import { buildFileDrop } from '../../src/functions/file-drops';
import { buildNatsTrigger } from '../../src/functions/nats-triggers';
import { cronOf } from '../../src/functions/cron';
import { topicsPath, renderTopics } from '../../src/functions/topics';
import { functionConfPath, secretPath, secretsDir } from '../../src/core/paths';
import { ExportFunction, SETTINGS, TARGETS, renderMapping } from '../../src/export/mapping';
import { Doc, ExportOptions } from '../../src/export/common';
import { exportFunctions, renderFiles, renderStream } from '../../src/export/render';
import { parseStack } from '../../src/stacks/stack-file';
import { toDeploySpec } from '../../src/stacks/openfaas';
import { runExport } from '../../src/faassctl/export';
import { schemaValidator } from '../support/k8s-schemas';
import { managerlessPaths } from '../support/temp-paths';
import { ROOT } from '../support/root';

const GOLDEN = path.join(ROOT, 'test', 'golden');
const O: ExportOptions = { imagePrefix: 'registry.example/faass' };
const none = (): Triggers => ({ schedules: [], drops: [], nats: [] });
const fn = (cfg: FunctionConfig, triggers = none(), topics: string[] = []): ExportFunction => ({ cfg, triggers, topics });
const SECRET_VALUE = 's3cr3t-value-never-exported';

// The stack of the issue: an HTTP function, a scheduled one, one with secrets, one with limits.
const stack = (): ExportFunction[] => [
  fn(Object.freeze({ ...buildFunctionConfig('hello', { runtime: 'node', file: 'handler.js', env: { GREETING: 'hi' } }), version: { number: 3, code: 'abc' } })),
  fn(buildFunctionConfig('report', { runtime: 'exec', command: 'date' }), {
    ...none(),
    schedules: [buildSchedule('1', { spec: '*/5 * * * *', tz: 'UTC', body: '{"kind":"tick"}' }), buildSchedule('2', { spec: 'Mon..Fri *-*-* 09:00', tz: 'Europe/Berlin', overlap: 'skip' }), buildSchedule('3', { spec: '*-*-* 00:00:30', tz: 'UTC' })],
  }),
  fn(buildFunctionConfig('vault', { runtime: 'python', file: 'handler.py', secrets: 'api-key,db-pass', auth: 'alice' })),
  fn(buildFunctionConfig('resize', { runtime: 'exec', command: 'convert - -resize 50% -', memory_max: '256M', cpu_quota: '50', tasks_max: '32', scratch_max: '128M', max_inflight: '4', timeout: '90.5' })),
];

// A service with every setting it can have, and every kind of trigger: the golden export.
const everything = (): ExportFunction =>
  fn(
    Object.freeze({
      ...buildFunctionConfig('shop', {
        kind: 'service', port: '8081', health: '/healthz', ready_timeout: '20', runtime: 'docker', image: 'shop:1.2', network: 'bridge', protocol: 'framed', timeout: '45', idle: '120', max_inflight: '8', workers: '2', max_output: '1M',
        content_type: 'application/json', memory_max: '512M', tasks_max: '64', cpu_quota: '150', scratch_max: '256M', auth: 'alice,bob', pass_authorization: 'yes', secrets: 'api-key', retries: '5', retry_max_age: '1h', queue_max: '50',
        env: { MODE: 'prod' },
      }),
      version: { number: 7, code: 'def' },
    }),
    {
      schedules: [buildSchedule('nightly', { spec: '0 3 * * *', tz: 'Europe/Berlin', body: 'rebuild', catch_up: 'none', jitter: '5m' }), buildSchedule('odd', { spec: 'Sat *-*-1..7 12:00', tz: 'UTC' })],
      drops: [buildFileDrop('inbox', { watch: '/srv/inbox' })],
      nats: [buildNatsTrigger('shop', 'bus', { nats: 'nats://127.0.0.1:4222', subject: 'orders.created' })],
    },
    ['orders.paid'],
  );

const kinds = (docs: readonly Doc[]) => docs.map((d) => `${String(d.apiVersion)}/${String(d.kind)}`);
const at = (d: unknown, ...keys: (string | number)[]): unknown => keys.reduce((o: unknown, k) => (o as Record<string | number, unknown> | undefined)?.[k], d);

t.test('the validator bites: a manifest a cluster would refuse fails', async (t) => {
  const validate = await schemaValidator();
  const [svc] = exportFunctions('knative', [stack()[0]], O).manifests[0].docs;
  t.doesNotThrow(() => validate(svc), 'the exported Service validates');
  const wrong = structuredClone(svc);
  (at(wrong, 'spec', 'template', 'spec') as Doc).containerConcurrency = 'many';
  t.throws(() => validate(wrong), /containerConcurrency must be integer/, 'containerConcurrency not a number: refused');
  const [dep] = exportFunctions('kubernetes', [stack()[3]], O).manifests[0].docs;
  const badMemory = structuredClone(dep);
  (at(badMemory, 'spec', 'template', 'spec', 'containers', 0, 'resources', 'limits') as Doc).memory = 'lots';
  t.throws(() => validate(badMemory), /memory must match format "quantity"/, 'a memory limit that is not a quantity: refused');
  const noSelector = structuredClone(dep);
  delete (noSelector.spec as Doc).selector;
  t.throws(() => validate(noSelector), /selector/, 'a Deployment without its selector: refused');
  t.throws(() => validate({ apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'x' } }), /no schema here/, 'a kind without a schema is refused, not passed');
});

t.test('knative: a Service per function that scales to zero, PingSources for schedules', async (t) => {
  const validate = await schemaValidator();
  const e = exportFunctions('knative', stack(), O);
  for (const m of e.manifests) for (const d of m.docs) t.doesNotThrow(() => validate(d), `${m.file}: ${String(d.kind)} validates`);
  const [hello, report, vault, resize] = e.manifests;
  t.same(kinds(hello.docs), ['serving.knative.dev/v1/Service']);
  const spec = (m: typeof hello) => at(m.docs[0], 'spec', 'template', 'spec') as Doc;
  const container = (m: typeof hello) => at(spec(m), 'containers', 0) as Doc;
  t.same(at(hello.docs[0], 'spec', 'template', 'metadata', 'annotations'), { 'autoscaling.knative.dev/min-scale': '0', 'autoscaling.knative.dev/scale-to-zero-pod-retention-period': '10s' }, 'scale to zero after the idle time');
  t.equal(container(hello).image, 'registry.example/faass/hello:3', 'the image: prefix, name, version');
  t.same(container(hello).ports, [{ containerPort: 8080 }]);
  t.same(container(hello).env, [{ name: 'GREETING', value: 'hi' }]);
  t.equal(spec(hello).containerConcurrency, 100, 'containerConcurrency from max_inflight (its default)');
  t.equal(spec(resize).containerConcurrency, 4);
  t.equal(spec(resize).timeoutSeconds, 91, 'timeoutSeconds: the timeout, rounded up');
  t.same(container(resize).resources, { limits: { memory: '256Mi', cpu: '500m', 'ephemeral-storage': '128Mi' } }, 'resources from memory_max, cpu_quota, scratch_max');
  t.same(spec(vault).volumes, [{ name: 'faass-secrets', projected: { sources: ['api-key', 'db-pass'].map((s) => ({ secret: { name: s, items: [{ key: s, path: s }] } })) } }], 'secrets: Secret references');
  t.same(container(vault).volumeMounts, [{ name: 'faass-secrets', mountPath: '/var/openfaas/secrets', readOnly: true }]);
  t.equal(at(vault.docs[0], 'metadata', 'labels', 'networking.knative.dev/visibility'), 'cluster-local', 'a function with auth is kept off the public ingress');
  t.equal(at(hello.docs[0], 'metadata', 'labels', 'networking.knative.dev/visibility'), undefined, 'a public one is not');
  t.same(e.secretCommands, ['kubectl create secret generic api-key --from-file=api-key=PATH-TO-API-KEY-VALUE', 'kubectl create secret generic db-pass --from-file=db-pass=PATH-TO-DB-PASS-VALUE']);
  t.same(kinds(report.docs), ['serving.knative.dev/v1/Service', 'sources.knative.dev/v1/PingSource', 'sources.knative.dev/v1/PingSource'], 'a PingSource per schedule cron can say');
  t.same(report.docs.slice(1).map((d) => at(d, 'spec')), [
    { schedule: '*/5 * * * *', timezone: 'UTC', contentType: 'text/plain', data: '{"kind":"tick"}', sink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'report' } } },
    { schedule: '0 9 * * 1-5', timezone: 'Europe/Berlin', sink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'report' } } },
  ]);
  t.match(e.notMapped.join('\n'), /^report: schedule 3 "\*-\*-\* 00:00:30": not mapped to knative: cron cannot say/m, 'a schedule with seconds is reported');
  t.match(e.notMapped.join('\n'), /^report: schedule\.overlap=.*2:skip.*not mapped to knative/m);
  t.match(e.notMapped.join('\n'), /^resize: tasks_max=32: not mapped to knative/m);
  t.match(e.notMapped.join('\n'), /^vault: auth=alice: not mapped to knative: .*cluster-local/m);
  const long = exportFunctions('knative', [fn(buildFunctionConfig('batch', { runtime: 'exec', command: 'date', timeout: '3600', env: { PORT: '9000' } }))], O);
  t.match(long.notMapped.join('\n'), /^batch: timeout=3600: maps to knative only where the cluster's max-revision-timeout-seconds/m, 'a timeout over Knative\'s default bound is said');
  t.match(long.notMapped.join('\n'), /^batch: env PORT: not mapped to knative: Knative sets PORT itself/m, 'an env Knative keeps for itself is said, not dropped silently');
  t.equal(at(long.manifests[0].docs[0], 'spec', 'template', 'spec', 'containers', 0, 'env'), undefined);
});

t.test('kubernetes: Deployment, Service, HorizontalPodAutoscaler, CronJobs; no scale to zero, said first', async (t) => {
  const validate = await schemaValidator();
  const e = exportFunctions('kubernetes', stack(), O);
  for (const m of e.manifests) for (const d of m.docs) t.doesNotThrow(() => validate(d), `${m.file}: ${String(d.kind)} validates`);
  const [hello, report, vault, resize] = e.manifests;
  t.same(kinds(hello.docs), ['apps/v1/Deployment', 'v1/Service', 'autoscaling/v2/HorizontalPodAutoscaler']);
  t.same(kinds(report.docs).slice(3), ['batch/v1/CronJob', 'batch/v1/CronJob']);
  const job = report.docs[3];
  t.equal(at(job, 'spec', 'schedule'), '*/5 * * * *');
  t.same(at(job, 'spec', 'jobTemplate', 'spec', 'template', 'spec', 'containers', 0, 'args'), ['-fsS', '-X', 'POST', '--data-binary', '{"kind":"tick"}', 'http://report/'], "it POSTs the schedule's body to the function's Service");
  t.equal(at(report.docs[4], 'spec', 'concurrencyPolicy'), 'Forbid', 'overlap=skip: Forbid');
  t.equal(at(report.docs[4], 'spec', 'timeZone'), 'Europe/Berlin');
  t.equal(at(hello.docs[1], 'spec', 'type'), 'ClusterIP', 'reached inside the cluster only');
  t.same(at(resize.docs[0], 'spec', 'template', 'spec', 'containers', 0, 'resources'), { limits: { memory: '256Mi', cpu: '500m', 'ephemeral-storage': '128Mi' }, requests: { memory: '256Mi', cpu: '500m' } });
  t.equal(at(hello.docs[0], 'spec', 'template', 'spec', 'containers', 0, 'resources', 'requests', 'cpu'), '100m', 'a CPU request for the autoscaler to measure against');
  t.ok(at(vault.docs[0], 'spec', 'template', 'spec', 'volumes'), 'secrets as a volume');
  for (const name of ['hello', 'report', 'vault', 'resize']) t.match(e.notMapped.find((l) => l.startsWith(`${name}: `)), /^\S+: idle=10: not mapped to kubernetes: no scale to zero/, `${name}: scale to zero is the first thing reported`);
});

t.test('openfaas: a stack.yml faassctl up reads back', async (t) => {
  const e = exportFunctions('openfaas', stack(), O);
  t.equal(e.manifests.length, 1);
  const text = renderFiles('openfaas', e, O)['stack.yml'];
  const doc = parse(text) as { provider: Doc; functions: Record<string, Doc> };
  t.same(doc.provider, { name: 'openfaas' });
  t.same(Object.keys(doc.functions), ['hello', 'report', 'vault', 'resize']);
  t.same(doc.functions.resize.limits, { memory: '256Mi', cpu: '500m' });
  t.same(doc.functions.vault.secrets, ['api-key', 'db-pass']);
  t.same(doc.functions.report.annotations, { topic: 'cron-function', schedule: '*/5 * * * *' }, 'the first schedule, for the cron-connector');
  t.match(e.notMapped.join('\n'), /^report: schedule 2 .*: not mapped to openfaas: the cron-connector takes one schedule a function/m);
  // faassctl up's own reading (stack-file.ts, stacks/openfaas.ts): each function deploys again,
  // its limits, secrets and faass's own settings (x-faass) as they were.
  const back = parseStack(text, 'stack.yml', {}, () => '');
  const cfgs = back.functions.map((f) => {
    const { spec } = toDeploySpec(f, back.dir);
    return buildFunctionConfig(spec.name, spec.input);
  });
  t.same(cfgs.map((c) => [c.name, c.runtime, c.kind, c.image, c.port]), [
    ['hello', 'docker', 'service', 'registry.example/faass/hello:3', 8080],
    ['report', 'docker', 'service', 'registry.example/faass/report:latest', 8080],
    ['vault', 'docker', 'service', 'registry.example/faass/vault:latest', 8080],
    ['resize', 'docker', 'service', 'registry.example/faass/resize:latest', 8080],
  ]);
  const resize = cfgs[3];
  t.same([resize.memoryMax, resize.cpuQuota, resize.tasksMax, resize.scratchMax, resize.maxInflight, resize.timeout], [String(256 * 1024 ** 2), 50, 32, 128 * 1024 ** 2, 4, 90.5]);
  t.same(cfgs[2].auth, ['alice'], 'who may call it comes back with it');
  t.same(cfgs[2].secrets, ['api-key', 'db-pass']);
  t.same(cfgs[0].env, { GREETING: 'hi' });
});

t.test('every function setting has its row; every row maps or is reported', async (t) => {
  const keys = SETTINGS.map((s) => s.key);
  for (const k of FUNCTION_KEYS) t.ok(keys.includes(k), `${k} is in the mapping table`);
  for (const k of ['env', 'version', 'schedule', 'topics', 'nats', 'watch']) t.ok(keys.includes(k), `${k} is in the mapping table`);
  const f = everything();
  for (const target of TARGETS) {
    const e = exportFunctions(target, [f], O);
    for (const s of SETTINGS) {
      const v = s.value(f);
      if (v === undefined || s.to[target].mapped) continue;
      t.ok(e.notMapped.some((l) => l.startsWith(`shop: ${s.key}=`)), `${target}: ${s.key} is reported as not mapped`);
    }
  }
});

t.test('faassctl-export(1) names every row of the table', async (t) => {
  const page = fs.readFileSync(path.join(ROOT, 'man', 'man1', 'faassctl-export.1'), 'utf8');
  const named = new Set(page.split('\n').filter((l) => l.startsWith('.It Cm ')).flatMap((l) => l.slice(7).split(/\s*,\s*|\s+/)));
  for (const s of SETTINGS) t.ok(named.has(s.key), `${s.key} has its entry`);
});

t.test('golden: the mapping table and the export of a function with every setting', async (t) => {
  const files: Record<string, string> = { 'export-mapping.txt': renderMapping() };
  for (const target of TARGETS) {
    const e = exportFunctions(target, [everything()], O);
    files[`export-${target}.yaml`] = `${renderStream(target, e, O)}# NOT MAPPED:\n${e.notMapped.map((l) => `# ${l}\n`).join('')}`;
  }
  if (process.env.UPDATE_GOLDEN) {
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(GOLDEN, file), text);
    t.fail(`UPDATE_GOLDEN: rewrote ${Object.keys(files).join(', ')} in ${GOLDEN}; review the diff and run again without UPDATE_GOLDEN`);
  } else for (const [file, text] of Object.entries(files)) t.equal(text, fs.readFileSync(path.join(GOLDEN, file), 'utf8'), `${file} matches its golden file`);
  const validate = await schemaValidator();
  for (const target of ['knative', 'kubernetes'] as const) for (const d of parseAllDocuments(files[`export-${target}.yaml`])) t.doesNotThrow(() => validate(d.toJS() as Doc), `golden ${target}: ${String((d.toJS() as Doc).kind)} validates`);
});

t.test('calendar expressions as cron lines, where cron can say them', async (t) => {
  const cases: [string, string | null][] = [
    ['*/5 * * * *', '*/5 * * * *'],
    ['@hourly', '0 * * * *'],
    ['daily', '0 0 * * *'],
    ['weekly', '0 0 * * 1'],
    ['*-*-* 00:00:00', '0 0 * * *'],
    ['Mon..Fri *-*-* 09:30', '30 9 * * 1-5'],
    ['Sat,Sun 10:00', '0 10 * * 6,0'],
    ['*-*-01 04:00', '0 4 1 * *'],
    ['*-01,07-01 00:00:00', '0 0 1 1,7 *'],
    ['*:0/15', '0-59/15 * * * *'],
    ['*-*-* 08..18/2:30:00', '30 8-18/2 * * *'],
    ['*-*-* 00:00:30', null], // seconds
    ['2030-*-* 00:00', null], // a year
    ['Sat *-*-1..7 12:00', null], // the first Saturday: systemd ANDs, cron would OR
    ['*-*-* 00:00:00 UTC', null],
  ];
  for (const [spec, cron] of cases) t.equal(cronOf(spec), cron, spec);
});

t.test('faassctl export: functions of this host, -o DIR, and its refusals', async (t) => {
  const p = managerlessPaths(t, 'export');
  fs.mkdirSync(path.dirname(functionConfPath(p, 'x')), { recursive: true });
  fs.writeFileSync(functionConfPath(p, 'tick'), renderFunctionConfig(buildFunctionConfig('tick', { runtime: 'exec', command: 'date', secrets: 'api-key' })));
  fs.writeFileSync(schedulesPath(p, 'tick'), renderTriggers('tick', { ...none(), schedules: [buildSchedule('1', { spec: '0 * * * *', tz: 'UTC' })] }));
  fs.mkdirSync(secretsDir(p), { recursive: true });
  fs.writeFileSync(secretPath(p, 'api-key'), SECRET_VALUE);
  fs.writeFileSync(topicsPath(p, 'tick'), renderTopics('tick', ['orders.paid']));
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-export-out-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const run = (a: Partial<Parameters<typeof runExport>[1]>) => runExport(p, { names: [], to: 'knative', imagePrefix: O.imagePrefix, ...a });
  const dir = path.join(out, 'manifests');
  t.equal(run({ all: true, output: dir }), 0);
  t.same(fs.readdirSync(dir).sort(), ['NOT-MAPPED.txt', 'SECRETS.txt', 'tick.yaml'], 'a file per function, the report and the secrets to make');
  t.same(kinds(parseAllDocuments(fs.readFileSync(path.join(dir, 'tick.yaml'), 'utf8')).map((d) => d.toJS() as Doc)), ['serving.knative.dev/v1/Service', 'sources.knative.dev/v1/PingSource'], "the function's schedule, from its triggers file");
  t.match(fs.readFileSync(path.join(dir, 'NOT-MAPPED.txt'), 'utf8'), /^tick: topics=orders\.paid: not mapped to knative/m, "its topics, from its topics file, reported");
  t.equal(fs.readFileSync(path.join(dir, 'SECRETS.txt'), 'utf8'), 'kubectl create secret generic api-key --from-file=api-key=PATH-TO-API-KEY-VALUE\n');
  const asFile = path.join(out, 'a-file');
  fs.writeFileSync(asFile, '');
  t.throws(() => run({ names: ['tick'], output: asFile }), { code: 'FAASS_E_USAGE', message: /is not a directory/ }, '-o naming a file: refused');
  t.throws(() => run({ names: ['tick', 'nope'] }), { code: 'FAASS_E_FUNCTION_NOT_FOUND', message: /nope/ }, 'an unknown name: refused');
  t.throws(() => run({}), { code: 'FAASS_E_USAGE' }, 'nothing named: refused');
  t.throws(() => run({ names: ['tick'], all: true }), { code: 'FAASS_E_USAGE' }, 'names and --all: refused');
  t.throws(() => run({ names: ['tick'], imagePrefix: 'Not A Registry' }), { code: 'FAASS_E_USAGE', message: /--image-prefix/ }, 'an image prefix no reference can have: refused');
  t.notMatch(fs.readdirSync(dir).join(' '), /\.tmp/, 'no temporary files left');
  const written = fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
  t.notMatch(written, SECRET_VALUE, "the secret's value, in this host's store, is in no file written");
  t.match(written, /name: api-key/, 'its name is');
});
