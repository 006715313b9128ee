import t from 'tap';
import { buildFunctionConfig, parseFunctionConfig, renderFunctionConfig, FUNCTION_DEFAULTS, configInput } from '../../src/functions/function-config';
import { buildSettings, SETTINGS_DEFAULTS } from '../../src/core/settings';
import { validateName, address } from '../../src/core/validate';
import { FaassError } from '../../src/core/errors';

const codeOf = (f: () => unknown) => {
  try {
    f();
    return 'no error';
  } catch (e) {
    return e instanceof FaassError ? e.code : String(e);
  }
};

t.test('names are lowercase DNS labels', async (t) => {
  for (const ok of ['a', 'hello', 'a-b', 'x1', '0', 'a'.repeat(63)]) t.equal(validateName(ok), ok, `${ok} accepted`);
  for (const bad of ['', 'A', 'a_b', '-a', 'a-', 'a.b', 'a/b', '..', 'a'.repeat(64), 'é', 'a b']) t.equal(codeOf(() => validateName(bad)), 'FAASS_E_NAME_INVALID', `${JSON.stringify(bad)} refused`);
});

t.test('function defaults and overrides, key by key', async (t) => {
  const d = buildFunctionConfig('f', { runtime: 'exec', command: 'cat' });
  t.equal(d.protocol, FUNCTION_DEFAULTS.protocol);
  t.equal(d.timeout, FUNCTION_DEFAULTS.timeout);
  t.equal(d.idle, FUNCTION_DEFAULTS.idle);
  t.equal(d.maxInflight, FUNCTION_DEFAULTS.maxInflight);
  t.equal(d.workers, FUNCTION_DEFAULTS.workers);
  t.equal(d.maxOutput, FUNCTION_DEFAULTS.maxOutput);
  t.equal(d.contentType, undefined);
  t.equal(d.scratchMax, 64 * 1024 * 1024, 'scratch space: 64M by default');
  t.equal(buildFunctionConfig('f', { runtime: 'exec', command: 'cat', scratch_max: '8M' }).scratchMax, 8 * 1024 * 1024);
  t.throws(() => buildFunctionConfig('f', { runtime: 'exec', command: 'cat', scratch_max: '100K' }), { code: 'FAASS_E_CONFIG_INVALID' }, 'under 1M: refused');
  const o = buildFunctionConfig('f', {
    runtime: 'exec',
    command: 'cat',
    protocol: 'framed',
    timeout: '2.5',
    idle: '3',
    max_inflight: '7',
    workers: '2',
    max_output: '1M',
    content_type: 'application/json',
    memory_max: '64M',
    tasks_max: '10',
    cpu_quota: '50',
  });
  t.same(
    [o.protocol, o.timeout, o.idle, o.maxInflight, o.workers, o.maxOutput, o.contentType, o.memoryMax, o.tasksMax, o.cpuQuota],
    ['framed', 2.5, 3, 7, 2, 1024 * 1024, 'application/json', String(64 * 1024 * 1024), 10, 50],
  );
  t.ok(Object.isFrozen(o), 'frozen');
});

t.test('bad values are errors naming the key', async (t) => {
  const base = { runtime: 'exec', command: 'cat' };
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ runtime: 'ruby', command: 'x' }, 'FAASS_E_RUNTIME_UNKNOWN', /ruby/],
    [{ command: 'x' }, 'FAASS_E_CONFIG_INVALID', /runtime is required/],
    [{ runtime: 'exec' }, 'FAASS_E_CONFIG_INVALID', /command or a file/],
    [{ runtime: 'node' }, 'FAASS_E_CONFIG_INVALID', /handler file/],
    [{ ...base, timeout: '0' }, 'FAASS_E_CONFIG_INVALID', /timeout/],
    [{ ...base, timeout: '-1' }, 'FAASS_E_CONFIG_INVALID', /timeout/],
    [{ ...base, idle: '0.5' }, 'FAASS_E_CONFIG_INVALID', /idle/],
    [{ ...base, max_inflight: '1.5' }, 'FAASS_E_CONFIG_INVALID', /max_inflight/],
    [{ ...base, max_output: '10X' }, 'FAASS_E_CONFIG_INVALID', /max_output/],
    [{ ...base, protocol: 'json' }, 'FAASS_E_CONFIG_INVALID', /protocol/],
    [{ ...base, content_type: 'text' }, 'FAASS_E_CONFIG_INVALID', /content_type/],
    [{ ...base, command: 'a\nExecStart=/bin/evil' }, 'FAASS_E_CONFIG_INVALID', /control characters/],
    [{ ...base, file: '../etc/passwd' }, 'FAASS_E_CONFIG_INVALID', /file/],
    [{ ...base, bogus: '1' }, 'FAASS_E_CONFIG_INVALID', /Unknown key "bogus"/],
    [{ ...base, timeout: true }, 'FAASS_E_CONFIG_INVALID', /timeout/],
    [{ ...base, env: { 'BAD-NAME': 'x' } }, 'FAASS_E_CONFIG_INVALID', /BAD-NAME/],
  ];
  for (const [raw, code, re] of cases) {
    try {
      buildFunctionConfig('f', raw);
      t.fail(`${JSON.stringify(raw)} accepted`);
    } catch (e) {
      t.equal((e as FaassError).code, code, JSON.stringify(raw));
      t.match((e as Error).message, re);
    }
  }
});

t.test('docker functions', async (t) => {
  const d = buildFunctionConfig('f', { runtime: 'docker', image: 'busybox:1.36' });
  t.equal(d.network, 'none', 'no network by default');
  const built = buildFunctionConfig('f', { runtime: 'docker', image: 'faass/f:0123456789ab', build: 'ctx', env: { A: '1' } });
  t.same(parseFunctionConfig('f', renderFunctionConfig(built)), built, 'build= survives the file');
  t.same(buildFunctionConfig('f', configInput(built)), built, 'a config is its own input again');
  t.equal(buildFunctionConfig('f', { runtime: 'docker', image: 'a', build: '/home/me/src' }).build, '/home/me/src', 'a directory of the host');
  const guarded = buildFunctionConfig('g', { runtime: 'exec', command: 'cat', auth: ' ops, ci ,ci', pass_authorization: 'yes' });
  t.same(guarded.auth, ['ci', 'ops'], 'auth: names, trimmed, once each, sorted');
  t.equal(guarded.passAuthorization, true);
  t.same(parseFunctionConfig('g', renderFunctionConfig(guarded)), guarded, 'auth survives the file');
  t.same(buildFunctionConfig('g', { runtime: 'exec', command: 'cat', auth: '' }).auth, [], 'empty: public');
  t.equal(buildFunctionConfig('f', { runtime: 'docker', image: 'registry.local:5000/team/app@sha256:' + 'a'.repeat(64), network: 'host' }).network, 'host');
  for (const [raw, re] of [
    [{ runtime: 'docker' }, /needs an image/],
    [{ runtime: 'docker', image: 'Busy Box' }, /Invalid image/],
    [{ runtime: 'docker', image: 'a', network: 'overlay' }, /network/],
    [{ runtime: 'docker', image: 'a', file: 'x.js' }, /from the image/],
    [{ runtime: 'exec', command: 'cat', image: 'a' }, /only for runtime docker/],
    [{ runtime: 'exec', command: 'cat', build: '.' }, /build is only for runtime docker/],
    [{ runtime: 'exec', command: 'cat', auth: 'ci,Bad Name' }, /auth: Invalid credential name "Bad Name"/],
    [{ runtime: 'exec', command: 'cat', auth: 'ci\nExecStart=/bin/sh' }, /auth/],
    [{ runtime: 'exec', command: 'cat', pass_authorization: 'maybe' }, /expected yes or no/],
    [{ runtime: 'docker', image: 'a', build: 'sub/../../x' }, /Invalid build/],
    [{ runtime: 'docker', image: 'a', build: 'x\ny' }, /build/],
  ] as [Record<string, unknown>, RegExp][]) t.throws(() => buildFunctionConfig('f', raw), re, JSON.stringify(raw));
  const text = renderFunctionConfig(d);
  t.same(parseFunctionConfig('f', text), d, 'round-trips');
});

t.test('services', async (t) => {
  const s = buildFunctionConfig('web', { kind: 'service', port: '8081', runtime: 'exec', command: 'httpd' });
  t.same([s.kind, s.port, s.readyTimeout, s.health], ['service', 8081, 30, undefined], 'defaults');
  t.equal(buildFunctionConfig('box', { kind: 'service', port: '80', runtime: 'docker', image: 'busybox' }).network, 'none', 'container services get a network of their own (issue 11 item 19)');
  t.equal(buildFunctionConfig('box', { kind: 'service', port: '80', runtime: 'docker', image: 'busybox', network: 'host' }).network, 'host', "or the host's when asked");
  for (const [raw, re] of [
    [{ kind: 'service', runtime: 'exec', command: 'x' }, /port is required/],
    [{ kind: 'service', port: '70000', runtime: 'exec', command: 'x' }, /port/],
    [{ kind: 'service', port: '80', runtime: 'node', file: 'a.js' }, /runtime must be exec/],
    [{ kind: 'service', port: '80', runtime: 'exec' }, /needs a command/],
    [{ kind: 'service', port: '80', runtime: 'exec', command: 'x', health: 'nope' }, /health/],
    [{ kind: 'daemon', runtime: 'exec', command: 'x' }, /kind/],
    [{ runtime: 'exec', command: 'x', port: '80' }, /only for kind=service/],
  ] as [Record<string, unknown>, RegExp][]) t.throws(() => buildFunctionConfig('f', raw), re, JSON.stringify(raw));
  t.same(parseFunctionConfig('web', renderFunctionConfig(s)), s, 'round-trips');
});

t.test('function files round-trip through INI, special characters included', async (t) => {
  const cfg = buildFunctionConfig('f', { runtime: 'exec', command: 'sh -c "echo a; echo b # c"', env: { A: 'x=y', B: ' spaced ', C: '' } });
  const text = renderFunctionConfig(cfg);
  t.same(parseFunctionConfig('f', text), cfg);
  t.equal(renderFunctionConfig(parseFunctionConfig('f', text)), text, 'rendering is stable');
  t.equal(codeOf(() => parseFunctionConfig('f', '[function]\nruntime=exec\ncommand=cat\n[other]\nx=1\n')), 'FAASS_E_CONFIG_INVALID', 'unknown section refused');
  t.equal(codeOf(() => parseFunctionConfig('f', '[function]\nruntime=exec\ncommand\n')), 'FAASS_E_CONFIG_INVALID', 'key without value refused');
});

t.test('gateway settings', async (t) => {
  const d = buildSettings({});
  t.equal(d.listen.text, SETTINGS_DEFAULTS.listen);
  t.equal(d.idle, SETTINGS_DEFAULTS.idle);
  t.equal(d.timeout, SETTINGS_DEFAULTS.timeout);
  t.equal(d.maxBody, 10 * 1024 * 1024);
  const o = buildSettings({ listen: '[::1]:9000', idle: '0', timeout: '5', max_body: '1K' });
  t.same([o.listen, o.idle, o.timeout, o.maxBody], [{ kind: 'tcp', host: '::1', port: 9000, text: '[::1]:9000' }, 0, 5, 1024]);
  t.same(address('listen', '/run/x.sock'), { kind: 'unix', path: '/run/x.sock', text: '/run/x.sock' });
  for (const bad of ['localhost:80', '1.2.3.4:0', '1.2.3.4:70000', '300.1.1.1:80', 'x', '']) t.equal(codeOf(() => buildSettings({ listen: bad })), 'FAASS_E_CONFIG_INVALID', `listen ${bad} refused`);
  t.equal(codeOf(() => buildSettings({ port: '80' })), 'FAASS_E_CONFIG_INVALID', 'unknown key refused');
  t.same([d.metrics, d.logCalls], [true, true], 'metrics and call lines on by default');
  const off = buildSettings({ metrics: 'no', log_calls: false });
  t.same([off.metrics, off.logCalls], [false, false]);
  t.equal(codeOf(() => buildSettings({ metrics: 'sometimes' })), 'FAASS_E_CONFIG_INVALID', 'metrics takes yes or no');
  t.same([d.maxClientConnections, d.headersTimeout], [256, 10], 'connection cap and headers timeout defaults');
  const c = buildSettings({ max_client_connections: '20', headers_timeout: '2.5' });
  t.same([c.maxClientConnections, c.headersTimeout], [20, 2.5]);
  for (const bad of [{ max_client_connections: '0' }, { max_client_connections: '1.5' }, { max_client_connections: 'many' }, { headers_timeout: '0' }, { headers_timeout: '-1' }]) {
    t.throws(() => buildSettings(bad), { code: 'FAASS_E_CONFIG_INVALID', message: new RegExp(Object.keys(bad)[0]) }, `${JSON.stringify(bad)} refused, naming the key`);
  }
  t.equal(d.metricsAccess, 'filtered', 'metrics_access: filtered by default');
  t.equal(buildSettings({ metrics_access: 'admin' }).metricsAccess, 'admin');
  t.throws(() => buildSettings({ metrics_access: 'public' }), { code: 'FAASS_E_CONFIG_INVALID', message: 'Invalid metrics_access "public": expected one of filtered, admin, open' });
});

t.test('gateway TLS settings', async (t) => {
  t.equal(buildSettings({}).tls, undefined, 'off by default');
  const main = buildSettings({ tls_cert: '/c.pem', tls_key: '/k.pem' }).tls;
  t.same([main?.cert, main?.key, main?.listen, main?.redirect], ['/c.pem', '/k.pem', undefined, false], 'HTTPS on the main socket');
  const second = buildSettings({ tls_cert: '/c.pem', tls_key: '/k.pem', tls_listen: '127.0.0.1:8443', http_redirect: 'yes' }).tls;
  t.same([second?.listen?.text, second?.redirect], ['127.0.0.1:8443', true]);
  const cases: [Record<string, string>, RegExp][] = [
    [{ tls_cert: '/c.pem' }, /go together/],
    [{ tls_cert: 'c.pem', tls_key: '/k.pem' }, /absolute path/],
    [{ tls_cert: '/c.pem\nExecStart=/bin/sh', tls_key: '/k.pem' }, /tls_cert/],
    [{ tls_listen: '127.0.0.1:8443' }, /need tls_cert/],
    [{ tls_cert: '/c.pem', tls_key: '/k.pem', http_redirect: 'yes' }, /needs tls_listen/],
    [{ tls_cert: '/c.pem', tls_key: '/k.pem', tls_listen: '127.0.0.1:8080' }, /must differ/],
    [{ console_listen: '127.0.0.1:8080' }, /console_listen must differ from listen and tls_listen/],
    [{ tls_cert: '/c.pem', tls_key: '/k.pem', tls_listen: '127.0.0.1:8443', console_listen: '127.0.0.1:8443' }, /an origin of its own/],
    [{ console_listen: 'nowhere' }, /console_listen/],
    [{ tls_cert: '/c.pem', tls_key: '/k.pem', tls_listen: '127.0.0.1:8443', http_redirect: 'perhaps' }, /yes or no/],
  ];
  for (const [raw, re] of cases) t.throws(() => buildSettings(raw), re, JSON.stringify(raw).slice(0, 70));
});

t.test('values ini would read as true, false or null come back as written', async (t) => {
  const cfg = buildFunctionConfig('x', { runtime: 'exec', command: 'true', env: { DEBUG: 'true', QUIET: 'false', NOTHING: 'null', ON: 'yes' } });
  const back = parseFunctionConfig('x', renderFunctionConfig(cfg));
  t.equal(back.command, 'true', '--command true (the true command) is its text');
  t.same(back.env, { DEBUG: 'true', NOTHING: 'null', ON: 'yes', QUIET: 'false' }, '--env DEBUG=true: a function file that parses, the value as given');
});
