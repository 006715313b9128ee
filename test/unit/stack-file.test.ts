// faassctl up's stack file (src/stacks/stack-file.ts, src/stacks/openfaas.ts): OpenFaaS's
// stack.yml read as faas-cli reads it, refusals that name FILE:LINE:COL and the key, what faass
// does not act on listed, and each function mapped onto a faass deploy.
import t from 'tap';
import * as path from 'node:path';
import { parseStack, substitute } from '../../src/stacks/stack-file';
import { toDeploySpec, memoryBytes, cpuPercent } from '../../src/stacks/openfaas';

const noFiles = (f: string): string => {
  throw Object.assign(new Error(`no ${f}`), { code: 'ENOENT' });
};
const parse = (text: string, env: Record<string, string> = {}, read = noFiles) => parseStack(text, 'stack.yml', env, read);
const named = (file: string) => parseStack('functions:\n  a:\n    image: x\n', file, {}, noFiles).name;
const envFile = (f: string) => (f.endsWith('/env.yml') ? 'environment:\n  COUNT: 4\n  FROM_FILE: yes\n' : noFiles(f));
const refusal = (text: string, env: Record<string, string> = {}): string => {
  try {
    const s = parse(text, env, envFile);
    for (const f of s.functions) toDeploySpec(f, s.dir);
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
};

const OPENFAAS = `version: 1.0
provider:
  name: openfaas
  gateway: http://127.0.0.1:8080
functions:
  hello:
    lang: node18
    handler: ./hello
    image: \${REGISTRY:-docker.io/me}/hello:latest
    environment:
      GREETING: \${GREETING}
      COUNT: 3
    environment_file:
      - env.yml
    labels:
      team: a
    limits:
      memory: 128Mi
      cpu: 500m
    requests:
      memory: 64Mi
  py:
    lang: python3-http
    handler: ./py
    x-faass:
      timeout: 5s
      auth: ci
`;

t.test('an OpenFaaS stack file maps onto faass deploys', async (t) => {
  const s = parse(OPENFAAS, { GREETING: 'hi' }, envFile);
  t.equal(named('/p/shop/orders.yml'), 'orders', "the stack's name: the file's");
  t.equal(named('/p/shop/stack.yml'), 'shop', "stack.yml, every project's: its directory's");
  const hello = toDeploySpec(s.functions[0], '/proj');
  t.same(hello.spec.input, { runtime: 'node', file: 'handler.js', convention: 'openfaas-http', env: { GREETING: 'hi', COUNT: '4', FROM_FILE: 'yes' }, memory_max: String(128 * 1024 * 1024), cpu_quota: '50' }, 'lang, environment (the file over inline), limits');
  t.equal(hello.spec.fromFile, '/proj/hello');
  t.match(hello.ignored, [/^stack\.yml:9:5: functions\.hello\.image: ignored/]);
  const py = toDeploySpec(s.functions[1], '/proj').spec;
  t.same(py.input, { runtime: 'python', file: 'handler.py', convention: 'openfaas-http', env: {}, timeout: '5s', auth: 'ci' }, "x-faass: faass's own keys");
  t.same(
    s.ignored.map((l) => l.replace(/ \(.*/, '')),
    ['stack.yml:4:3: provider.gateway: ignored', 'stack.yml:15:5: functions.hello.labels: ignored', 'stack.yml:20:5: functions.hello.requests: ignored'],
    'what faass does not act on: one line a key, where it is',
  );
});

t.test('refusals name the file, line, column and key', async (t) => {
  t.equal(refusal(OPENFAAS.replace('memory: 128Mi', 'memory: lots')), 'stack.yml:18:15: functions.hello.limits.memory: must be a size like 128Mi');
  t.match(refusal(OPENFAAS.replace('lang: node18', 'lang: go')), /^stack\.yml:7:5: functions\.hello\.lang: faass has no runtime for lang "go"/);
  t.match(refusal(OPENFAAS.replace('timeout: 5s', 'timeout: forever')), /^stack\.yml:26:7: functions\.py\.x-faass\.timeout: Invalid timeout "forever"/);
  t.match(refusal(OPENFAAS.replace('    labels:', '    labelz:')), /^stack\.yml:15:5: functions\.hello\.labelz: unknown key/);
  t.match(refusal(OPENFAAS.replace('name: openfaas', 'name: lambda')), /^stack\.yml:3:9: provider\.name: "lambda": expected openfaas/);
  t.match(refusal(OPENFAAS.replace('      auth: ci', '      auth: ci\n      runtime: exec')), /^stack\.yml:28:7: functions\.py\.x-faass\.runtime: unknown key/);
  t.match(refusal('functions:\n  Bad:\n    image: x\n'), /^stack\.yml:2:3: functions\.Bad: a function name/);
  t.match(refusal('functions:\n  a:\n    lang: node18\n'), /^stack\.yml:3:5: functions\.a\.lang: lang node18 needs handler/);
  t.match(refusal('functions: [a\n'), /^stack\.yml:2:1: not YAML/); // where the ] is missing
  t.match(refusal('provider:\n  name: openfaas\n'), /functions: a stack file needs at least one function/);
  t.match(refusal('functions:\n  a:\n    lang: node18\n    handler: ./a\n    environment_file: [missing.yml]\n'), /^stack\.yml:5:5: functions\.a\.environment_file: cannot read .*missing\.yml \(ENOENT\)/);
  t.match(refusal('configuration:\n  copy: [./common]\nfunctions:\n  a:\n    image: x\n'), /^stack\.yml:2:3: configuration\.copy: not supported/);
});

t.test("secrets: the function's secrets=, handed over as credentials", async (t) => {
  const s = parse('functions:\n  a:\n    lang: node18\n    handler: ./a\n    secrets:\n      - api-key\n      - db\n');
  t.equal(toDeploySpec(s.functions[0], '/').spec.input.secrets, 'api-key,db');
});

t.test('an image with no lang: its watchdog as a service, or fprocess once per call', async (t) => {
  const s = parse('functions:\n  web:\n    image: ghcr.io/me/web:1\n  up:\n    image: busybox:latest\n    fprocess: tr a-z A-Z\n');
  t.same(toDeploySpec(s.functions[0], '/').spec.input, { runtime: 'docker', image: 'ghcr.io/me/web:1', kind: 'service', port: '8080', env: {} });
  t.same(toDeploySpec(s.functions[1], '/').spec.input, { runtime: 'docker', image: 'busybox:latest', command: 'tr a-z A-Z', env: {} });
});

t.test('classic templates and x-faass-stack', async (t) => {
  t.equal(parse('functions:\n  a:\n    image: x\n').name, path.basename(process.cwd()), 'stack.yml here: this directory');
  const s = parse('x-faass-stack: shop\nfunctions:\n  a:\n    lang: node\n    handler: a\n  b:\n    lang: python3\n    handler: b\n');
  t.equal(s.name, 'shop');
  t.equal(toDeploySpec(s.functions[0], '/p').spec.input.convention, 'openfaas-classic');
  t.equal(toDeploySpec(s.functions[1], '/p').spec.input.convention, 'openfaas-classic');
});

t.test('substitution, sizes and CPUs', async (t) => {
  t.equal(substitute('${A}-${B:-dflt}-${C-unset}-$A-$$A', { A: 'a', B: '', C: '' }), 'a-dflt--a-$A');
  t.equal(memoryBytes('40Mi'), String(40 * 1024 * 1024));
  t.equal(memoryBytes('1G'), String(1e9));
  t.equal(memoryBytes('128m'), String(128 * 1024 * 1024), "Swarm's m: MiB, as docker reads it");
  t.throws(() => memoryBytes('12KB'));
  t.equal(cpuPercent('100m'), '10');
  t.equal(cpuPercent('1.5'), '150');
  t.throws(() => cpuPercent('5m'));
  t.match(refusal('functions:\n  a:\n    image: "${IMG}"\n', { IMG: 'x\ny' }), /^stack\.yml:3:12: functions\.a\.image: control characters/, "a variable's newline is refused, not read as YAML");
});

t.test("a YAML error names the line and column where it is, not the file's start", async (t) => {
  t.match(refusal('functions:\n  a:\n    lang: node18\n    lang: python3\n'), /^stack\.yml:4:5: not YAML this reads: Map keys must be unique/, 'a duplicate key: at the second one');
  t.match(refusal('functions:\n  a:\n    lang: node18\n   handler: x\n'), /^stack\.yml:4:\d+: not YAML this reads/, 'a misindented key: on its line');
});

t.test('a plain value is taken as written, as faas-cli reads it into a string', async (t) => {
  const s = parse('functions:\n  a:\n    lang: node18\n    handler: ./a\n    environment:\n      VERSION: 1.10\n      MODE: 0755\n      HEX: 0x10\n      ID: 123456789012345678901234\n      ON: true\n    limits:\n      cpu: 0.50\n');
  t.same(s.functions[0].environment, { VERSION: '1.10', MODE: '0755', HEX: '0x10', ID: '123456789012345678901234', ON: 'true' }, 'not 1.1, 755, 16, 1.2345678901234568e+23');
  t.equal(s.functions[0].limits.cpu, '0.50');
});
