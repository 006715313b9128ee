// GET /metrics through a Gateway in this process, under each metrics_access: which function
// names a scrape shows, by who asks. Function files and counts in a temporary XDG tree.
import t from 'tap';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { Gateway } from '../../src/gateway/gateway';
import { buildSettings } from '../../src/core/settings';
import { addCredential } from '../../src/auth/credentials';
import { resolvePaths, functionConfPath } from '../../src/core/paths';
import { MetricsStore, metricsPath } from '../../src/observe/metrics-store';
import { log } from '../../src/observe/log';

const quiet = { warning: log.warning, err: log.err };
log.warning = log.err = () => undefined;
t.teardown(() => Object.assign(log, quiet));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-metrics-access-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const paths = resolvePaths({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'c'), XDG_DATA_HOME: path.join(dir, 'd'), XDG_STATE_HOME: path.join(dir, 's'), XDG_RUNTIME_DIR: path.join(dir, 'r') });
const writeFunction = (name: string, text: string) => {
  fs.mkdirSync(path.dirname(functionConfPath(paths, name)), { recursive: true });
  fs.writeFileSync(functionConfPath(paths, name), text);
};
writeFunction('pub', '[function]\nruntime = exec\ncommand = cat\n');
writeFunction('secret', '[function]\nruntime = exec\ncommand = cat\nauth = ci\n');
writeFunction('broken', '[function]\nruntime = nope\nauth = ci\n');
const ci = addCredential(paths, 'ci', false);
const ops = addCredential(paths, 'ops', false);
const root = addCredential(paths, 'root', true);

// Counts for each, and for `gone`, a function deleted since (its counters stay in the file).
const ALL = ['pub', 'secret', 'broken', 'gone'];
const seed = new MetricsStore(paths, metricsPath(paths));
seed.add({ invocations: Object.fromEntries(ALL.map((f) => [f, { '200': 1 }])), coldStarts: Object.fromEntries(ALL.map((f) => [f, 1])), activations: { gateway: 3 } });
seed.flush();

// A gateway per setting, each on a port of its own.
const gateways = new Map<string, { gateway: Gateway; server: http.Server; port: number }>();
t.before(async () => {
  for (const access of ['filtered', 'admin', 'open']) {
    const gateway = new Gateway(buildSettings({ metrics_access: access, log_calls: 'no' }), paths);
    const server = http.createServer(gateway.handle).listen(0, '127.0.0.1');
    await once(server, 'listening');
    gateways.set(access, { gateway, server, port: (server.address() as { port: number }).port });
  }
});
t.teardown(() => {
  for (const { gateway, server } of gateways.values()) {
    gateway.close();
    server.close();
    server.closeAllConnections();
  }
});

const scrape = async (access: string, authorization?: string) => {
  const req = http.request({ host: '127.0.0.1', port: gateways.get(access)?.port, path: '/metrics', agent: false, headers: authorization ? { authorization } : {} });
  req.end();
  const [r] = (await once(req, 'response')) as [http.IncomingMessage];
  let text = '';
  for await (const c of r) text += String(c);
  const named = ALL.filter((f) => text.includes(`function_name="${f}"`));
  return { status: r.statusCode, text, named, challenge: r.headers['www-authenticate'] };
};

t.test('filtered (the default): anonymous scrapes see public functions and faass-wide series only', async (t) => {
  const anon = await scrape('filtered');
  t.equal(anon.status, 200);
  t.same(anon.named, ['pub'], 'no protected, broken or deleted function is named');
  t.match(anon.text, /^faass_activations_total\{program="gateway"\} \d+$/m, 'faass-wide series stay');
  t.match(anon.text, /^gateway_function_invocation_total\{function_name="pub",code="200",side="current"\} 1$/m);
  t.same((await scrape('filtered', `Bearer ${root}`)).named, ALL, 'an admin sees every function');
  t.same((await scrape('filtered', `Bearer ${ci}`)).named, ['pub', 'secret'], 'another credential: public ones and those it may call');
  t.same((await scrape('filtered', `Bearer ${ops}`)).named, ['pub'], 'and not those it may not');
  const wrong = await scrape('filtered', `Bearer ci.${'A'.repeat(43)}`);
  t.equal(wrong.status, 401, 'a wrong credential is refused');
  t.match(wrong.challenge, /Bearer realm="faass"/);
  t.notMatch(wrong.text, /secret/);
});

t.test('admin: admins only', async (t) => {
  const anon = await scrape('admin');
  t.equal(anon.status, 401, 'no credential: 401');
  t.match(anon.challenge, /Bearer realm="faass"/, 'with the challenge');
  t.same(anon.named, []);
  t.equal((await scrape('admin', `Bearer ${ci}`)).status, 403, 'not an admin: 403');
  const admin = await scrape('admin', `Bearer ${root}`);
  t.equal(admin.status, 200);
  t.same(admin.named, ALL);
});

t.test('open: everyone sees every series', async (t) => {
  t.same((await scrape('open')).named, ALL);
});
