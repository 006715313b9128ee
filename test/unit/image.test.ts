// faassctl image's pure parts: the Dockerfile, a container's command line, what of faass goes
// in, and the reference (export's). The image itself: test/integration/image.test.ts.
import t from 'tap';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { splitCommand } from '../../src/functions/command-line';
import { dockerfile, BORROWED_NODE } from '../../src/image/dockerfile';
import { runtimeFiles } from '../../src/image/runtime-files';
import { containerCommand, imageWarnings } from '../../src/faassctl/image';
import { imageOf, imageRefOf } from '../../src/export/common';
import { exportFunctions } from '../../src/export/render';
import { ROOT } from '../support/root';

t.test('the Dockerfile', async (t) => {
  const plain = dockerfile({ name: 'fn', runtime: 'node', base: 'node:20-bookworm-slim', hasSecrets: false, hasCode: true });
  t.match(plain, /^FROM node:20-bookworm-slim$/m);
  t.match(plain, /^USER 65532:65532$/m, 'not root');
  t.notMatch(plain, /CREDENTIALS_DIRECTORY/, 'no secrets: no credentials directory');
  t.match(plain, /^RUN \["node","-e",".*faass: node 20 or later/m, 'node is checked');
  t.notMatch(plain, /python3/, 'python only for python functions');
  t.match(plain, /^ENTRYPOINT \["node","\/opt\/faass\/app\/dist\/image\/serve.js"\]$/m);
  const py = dockerfile({ name: 'fn', runtime: 'python', base: 'b', hasSecrets: true, hasCode: false });
  t.match(py, /RUN \["python3"/, 'python3 is checked');
  t.match(py, /CREDENTIALS_DIRECTORY="\/var\/openfaas\/secrets"/, 'secrets: the directory, never a value');
  t.notMatch(py, /COPY data/, 'no code: nothing to copy');
  t.match(py, /^WORKDIR \/opt\/faass\/data\/faass\/functions\/fn$/m, 'the code directory is made all the same');
  const box = dockerfile({ name: 'fb', runtime: 'docker', base: 'node:20', hasSecrets: false, hasCode: false, functionImage: 'me/fn:1', command: 'echo "$Http_Method"', user: 'app' });
  t.match(box, /^FROM node:20 AS faass-node$/m, 'node comes from the base');
  t.match(box, /^FROM me\/fn:1$/m, "then the function's own image");
  t.match(box, /^COPY --from=faass-node \/opt\/faass\/node \/opt\/faass\/node$/m);
  t.match(box, /FAASS_IMAGE_COMMAND="echo \\"\\\$Http_Method\\""/, 'the command, with $ kept from the builder');
  t.match(box, /^USER app$/m, "the image's own user");
  t.notMatch(box, /WORKDIR/, "its image's WORKDIR");
  t.match(box, `ENTRYPOINT ${JSON.stringify([...BORROWED_NODE, '/opt/faass/app/dist/image/serve.js'])}`, 'node through the copied loader');
});

t.test("a container function's command line", async (t) => {
  const cfg = (more: Record<string, unknown>) => buildFunctionConfig('fb', { runtime: 'docker', image: 'me/fn:1', ...more });
  t.equal(containerCommand(cfg({ command: 'cat' }), [], ['sh']), 'cat', 'command= as given');
  t.same(splitCommand(containerCommand(cfg({}), ['/entry', 'a b'], ['x'])), ['/bin/sh', '-c', "/entry 'a b' x"], 'ENTRYPOINT then CMD, quoted');
  t.same(splitCommand(containerCommand(cfg({}), ['/entry'], ['x'])), ['/entry', 'x']);
  t.equal(containerCommand(cfg({ command: 'go now' }), ['/entry'], ['x']), '/entry go now', 'ENTRYPOINT then command=');
  t.throws(() => containerCommand(cfg({}), [], []), { code: 'FAASS_E_CONFIG_INVALID' }, 'nothing to run');
});

t.test('what of faass the image carries', async (t) => {
  const files = runtimeFiles(ROOT, 'dist/image/serve.js');
  t.ok(files.includes('dist/image/serve.js') && files.includes('dist/runner/runner.js'), 'the runner');
  t.ok(files.includes('dist/runner/workers'), 'the workers, started by path');
  t.ok(files.includes('node_modules/ini'), 'the packages it requires');
  t.notOk(files.some((f) => /node_modules\/(dockerode|sd-notify|unix-dgram|yargs)$/.test(f)), `not the engine's client, systemd's native bindings nor faassctl's: ${files.filter((f) => f.startsWith('node_modules'))}`);
  t.notOk(files.some((f) => f.startsWith('dist/faassctl/') || f.startsWith('dist/gateway/main') || f.startsWith('dist/ui/')), 'no faassctl, gateway program or console');
  t.ok(files.includes('dist/runner/fast-spawn.js'), 'the exec spawn');
  t.notOk(files.some((f) => f.endsWith('.node')), "but no addon built for this host's libc and Node: the image's runner uses Node's spawn");
});

t.test("the reference is export's", async (t) => {
  const cfg = buildFunctionConfig('hello', { runtime: 'exec', command: 'cat' });
  const f = { cfg: { ...cfg, version: { number: 4, code: 'x', settings: 'y' } } as typeof cfg, triggers: { schedules: [], drops: [], nats: [] }, topics: [] };
  t.equal(imageRefOf(f.cfg, { imagePrefix: 'r.example/p' }).ref, imageOf(f, { imagePrefix: 'r.example/p' }));
  t.same(imageRefOf(f.cfg, { imagePrefix: 'r.example:5000/p', tag: 'v1' }), { repo: 'r.example:5000/p/hello', tag: 'v1', ref: 'r.example:5000/p/hello:v1' });
  t.equal(imageRefOf(cfg, { imagePrefix: 'r.example/p' }).tag, 'latest', 'no version: latest');
  t.throws(() => imageRefOf(cfg, { imagePrefix: 'Bad/Prefix' }), { code: 'FAASS_E_USAGE' });
  t.throws(() => imageRefOf(cfg, { imagePrefix: 'r.example/p', tag: 'a@sha256:' + '0'.repeat(64) }), { code: 'FAASS_E_USAGE' }, 'a digest is no tag');
});

// Knative and Kubernetes probe a function's pod on the image's own paths, and a service's too:
// its image's /_/ready looks at its app's health= path (image/serve-service.ts).
t.test("export's manifests probe the image's paths", async (t) => {
  const fn = { cfg: buildFunctionConfig('hello', { runtime: 'exec', command: 'cat' }), triggers: { schedules: [], drops: [], nats: [] }, topics: [] };
  for (const target of ['knative', 'kubernetes'] as const) {
    const docs = exportFunctions(target, [fn], { imagePrefix: 'r.example/p' }).manifests.flatMap((m) => m.docs);
    const c = JSON.stringify(docs).match(/"readinessProbe":\{[^}]*\}[^}]*\}/)?.[0] ?? 'none';
    t.match(c, '"path":"/_/ready","port":8080', `${target}: readiness on /_/ready`);
    t.match(JSON.stringify(docs), '"livenessProbe":{"httpGet":{"path":"/_/health","port":8080}}', `${target}: liveness on /_/health`);
  }
  const svc = { ...fn, cfg: buildFunctionConfig('web', { kind: 'service', runtime: 'exec', command: 'srv', port: '8081', health: '/hz' }) };
  for (const target of ['knative', 'kubernetes'] as const) {
    const docs = JSON.stringify(exportFunctions(target, [svc], { imagePrefix: 'r.example/p' }).manifests.flatMap((m) => m.docs));
    t.match(docs, '"readinessProbe":{"httpGet":{"path":"/_/ready","port":8080}}', `${target}: a service is ready by its image's /_/ready`);
    t.notMatch(docs, '"/hz"', `${target}: not the app's own path (the image's /_/ready looks at it)`);
  }
  const k8s = JSON.stringify(exportFunctions('kubernetes', [svc], { imagePrefix: 'r.example/p' }).manifests.flatMap((m) => m.docs));
  t.match(k8s, '"startupProbe":{"httpGet":{"path":"/_/ready","port":8080},"periodSeconds":1,"failureThreshold":30}', 'kubernetes: ready_timeout as the startup probe');
});

t.test('a function with callers: its image checks no credential, and faassctl image says so', async (t) => {
  t.same(imageWarnings(buildFunctionConfig('pub', { runtime: 'exec', command: 'cat' })), [], 'a public function: nothing to say');
  const [w, ...rest] = imageWarnings(buildFunctionConfig('priv', { runtime: 'exec', command: 'cat', auth: 'alice,bob' }));
  t.match(w, /priv is called by credentials only here \(auth=alice,bob\); its image checks none/);
  t.match(w, /authenticating ingress/);
  t.same(rest, []);
});

// The image's front serves on $PORT, 8080 unless the cluster says otherwise: an app on 8080
// would be where the front must be, and the front refuses to start there.
t.test('a service whose app listens on 8080: faassctl image says so', async (t) => {
  t.same(imageWarnings(buildFunctionConfig('web', { kind: 'service', runtime: 'exec', command: 'srv', port: '8081' })), [], 'another port: nothing to say');
  const w = imageWarnings(buildFunctionConfig('web', { kind: 'service', runtime: 'exec', command: 'srv', port: '8080' }));
  t.equal(w.length, 1);
  t.match(w[0], /web's app listens on port 8080, the image's own \$PORT by default: run the image with another PORT/);
});
