// Unit renderers are pure: golden files pin their output; unit-files only touches faass's own files.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderAllUnits, quote, MARKER, UnitContext } from '../../src/systemd/units';
import { buildSettings } from '../../src/core/settings';
import { applyUnitFiles } from '../../src/systemd/unit-files';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { ROOT } from '../support/root';

const GOLDEN = path.join(ROOT, 'test', 'golden');
const ctx: UnitContext = { node: '/usr/bin/node', dist: '/home/u/.local/lib/faass/dist', proxyd: '/usr/lib/systemd/systemd-socket-proxyd', xdg: { config: '/home/u/.config', data: '/home/u/.local/share', state: '/home/u/.local/state' }, engine: '/var/run/docker.sock', openfaasSecrets: true };
const gw = buildSettings({ listen: '127.0.0.1:8080', idle: '10', console_listen: '127.0.0.1:8090' });
const fns = [
  buildFunctionConfig('hello', { runtime: 'node', file: 'handler.js', secrets: 'api-key' }),
  buildFunctionConfig('resize', { runtime: 'exec', command: 'convert - -resize 50% -', timeout: '10', memory_max: '256M', tasks_max: '32', cpu_quota: '50' }),
  buildFunctionConfig('web', { kind: 'service', port: '8081', runtime: 'exec', command: 'busybox httpd -f -p 127.0.0.1:$PORT', idle: '30', memory_max: '128M' }),
];

// hello's canary: version 3 of it, beside the current one (functions/canary.ts).
const canaries = { hello: Object.freeze({ ...buildFunctionConfig('hello', { runtime: 'node', file: 'handler.js', timeout: '5' }), version: { number: 3, code: 'abc-123' } }) };

t.test('golden files', async (t) => {
  const units = renderAllUnits(gw, fns, ctx, {}, {}, {}, canaries);
  t.same(Object.keys(units), ['faass-gateway.socket', 'faass-gateway.service', 'faass-api.socket', 'faass-api.service', 'faass-revive@.service', 'faass-dispatch.path', 'faass-dispatch.service', 'faass-gateway-console.socket', 'faass-fn-hello.socket', 'faass-fn-hello.service', 'faass-canary-hello.socket', 'faass-canary-hello.service', 'faass-fn-resize.socket', 'faass-fn-resize.service', 'faass-fn-web.socket', 'faass-fn-web.service', 'faass-fn-web-app.service']);
  t.match(units['faass-fn-web.service'], /^ExecStart=\/usr\/lib\/systemd\/systemd-socket-proxyd --exit-idle-time=30s %t\/faass\/svc\/web\/app\.sock$/m, 'a service is proxied, exiting when idle, into the app\'s own network');
  t.match(units['faass-fn-web-app.service'], /^PrivateNetwork=yes$/m, 'a process app has a network of its own');
  // Issue 11 item 19: a container service is reached only through its forwarder's socket too.
  const box = (extra: Record<string, string> = {}) => renderAllUnits(gw, [buildFunctionConfig('box', { kind: 'service', port: '8082', runtime: 'docker', image: 'busybox', ...extra })], ctx);
  t.match(box()['faass-fn-box.service'], /^ExecStart=\S+ --exit-idle-time=\d+s %t\/faass\/svc\/box\/app\.sock$/m, 'a container service: proxied into its own network, by default');
  t.notMatch(box()['faass-fn-box-app.service'], /PrivateNetwork/, "its app unit keeps the host's network (it talks to the engine; the container has the network of its own)");
  t.match(box({ network: 'host' })['faass-fn-box.service'], /^ExecStart=\S+ --exit-idle-time=\d+s 127\.0\.0\.1:8082$/m, "on the host's network when asked: its port");
  t.match(units['faass-fn-hello.service'], /^TemporaryFileSystem=%t:ro$/m, "a function sees nothing of the user's runtime directory");
  t.match(units['faass-fn-hello.service'], /^BindReadOnlyPaths=-\/home\/u\/\.local\/share\/faass\/code\/hello$/m, "its own code directories (its runner serves the one its file's version names), no other function's");
  t.match(units['faass-fn-web-app.service'], /^StopWhenUnneeded=yes$/m, 'its app stops with the proxy');
  t.match(units['faass-canary-hello.service'], /^BindReadOnlyPaths=\/home\/u\/\.config\/faass\/canary\/hello\.conf:\/home\/u\/\.config\/faass\/functions\/hello\.conf$/m, "a canary's runner reads the canary's file where the function's is");
  t.notMatch(units['faass-canary-hello.service'], /^BindReadOnlyPaths=-?\/home\/u\/\.config\/faass\/functions\/hello\.conf$/m, "and never the function's own");
  t.match(units['faass-canary-hello.service'], /^ExecStart=.*--function hello --canary$/m, 'its runner knows it is the canary (its unit)');
  t.match(units['faass-canary-hello.socket'], /^ListenStream=%t\/faass\/canary\/hello\.sock$/m, 'a socket of its own');
  for (const socket of Object.keys(units).filter((f) => f.endsWith('.socket'))) t.match(units[socket], /^OnFailure=faass-revive@%n\.service$/m, `${socket}: a failure starts faass-revive for it`);
  t.match(units['faass-revive@.service'], /^StartLimitIntervalSec=0$/m, 'the revive has no start limit: it answers every failure');
  t.match(units['faass-revive@.service'], /^ExecStart=\/usr\/bin\/node \/home\/u\/\.local\/lib\/faass\/dist\/revive\/main\.js %i$/m, 'and is told which socket');
  for (const [file, text] of Object.entries(units)) {
    t.ok(text.startsWith(MARKER + '\n'), `${file} starts with the marker`);
  }
  if (process.env.UPDATE_GOLDEN) {
    // Comparing output with the files just written from it would prove nothing: write, then fail.
    for (const [file, text] of Object.entries(units)) fs.writeFileSync(path.join(GOLDEN, file), text);
    t.fail(`UPDATE_GOLDEN: rewrote ${Object.keys(units).length} golden files in ${GOLDEN}; review the diff (git diff test/golden) and run again without UPDATE_GOLDEN`);
  } else {
    for (const [file, text] of Object.entries(units)) t.equal(text, fs.readFileSync(path.join(GOLDEN, file), 'utf8'), `${file} matches its golden file`);
  }
  t.same(renderAllUnits(gw, [...fns].reverse(), ctx, {}, {}, {}, canaries), units, 'same input, byte-identical output, whatever the order');
});

t.test('quoting for ExecStart and Environment', async (t) => {
  t.equal(quote('/usr/bin/node'), '/usr/bin/node');
  t.equal(quote('/opt/my dir/x'), '"/opt/my dir/x"');
  t.equal(quote('/a%b'), '/a%%b', 'specifiers escaped');
  t.equal(quote('/a$b'), '"/a$$b"', 'variables escaped');
  t.equal(quote('/a"b'), '"/a\\"b"');
});

t.test('applyUnitFiles writes what changed and removes only its own stale files', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-units-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const units = renderAllUnits(gw, fns, ctx);
  t.equal(applyUnitFiles(dir, units).written.length, 15, 'first run writes all');
  const again = applyUnitFiles(dir, units);
  t.same([again.written.length, again.removed.length, again.unchanged.length], [0, 0, 15], 'second run changes nothing');
  fs.writeFileSync(path.join(dir, 'faass-mine.service'), '[Service]\nExecStart=/bin/true\n');
  const fewer = renderAllUnits(gw, [fns[0]], ctx);
  const r = applyUnitFiles(dir, fewer);
  t.same(r.removed.sort(), ['faass-fn-resize.service', 'faass-fn-resize.socket', 'faass-fn-web-app.service', 'faass-fn-web.service', 'faass-fn-web.socket'], "deleted functions' units are removed");
  t.ok(fs.existsSync(path.join(dir, 'faass-mine.service')), "a user's own faass-* file is left alone");
  fs.mkdirSync(path.join(dir, 'faass-fn-hello.service.d'));
  fs.writeFileSync(path.join(dir, 'faass-fn-hello.service.d', 'override.conf'), '[Service]\nCPUQuota=10%\n');
  t.same(applyUnitFiles(dir, fewer).removed, [], 'a drop-in directory (systemctl --user edit) is not read as a unit');
  t.ok(fs.existsSync(path.join(dir, 'faass-fn-hello.service.d', 'override.conf')), 'and is left alone');
  fs.writeFileSync(path.join(dir, 'faass-fn-hello.service'), '# mine\n');
  t.throws(() => applyUnitFiles(dir, units), /not written by faass/, 'a hand-written file in the way is not overwritten');
});

t.test('TLS: the main socket named https, or a second socket for the same service', async (t) => {
  const onMain = renderAllUnits(buildSettings({ tls_cert: '/c.pem', tls_key: '/k.pem' }), [], ctx);
  t.match(onMain['faass-gateway.socket'], /^FileDescriptorName=https$/m);
  t.notOk('faass-gateway-https.socket' in onMain);
  const second = renderAllUnits(buildSettings({ tls_cert: '/c.pem', tls_key: '/k.pem', tls_listen: '127.0.0.1:8443' }), [], ctx);
  t.match(second['faass-gateway.socket'], /^FileDescriptorName=http$/m);
  t.match(second['faass-gateway-https.socket'], /^ListenStream=127\.0\.0\.1:8443\nFileDescriptorName=https\nService=faass-gateway\.service$/m);
  t.match(second['faass-gateway.service'], /^Requires=faass-gateway\.socket faass-gateway-https\.socket$/m);
});

t.test('console_listen: the console on a socket of its own, for the same service; none by default', async (t) => {
  const none = renderAllUnits(buildSettings({}), [], ctx);
  t.notOk('faass-gateway-console.socket' in none, 'no console_listen: no console socket');
  t.match(none['faass-gateway.service'], /^Requires=faass-gateway\.socket$/m);
  const both = renderAllUnits(buildSettings({ tls_cert: '/c.pem', tls_key: '/k.pem', tls_listen: '127.0.0.1:8443', console_listen: '127.0.0.1:8090' }), [], ctx);
  t.match(both['faass-gateway-console.socket'], /^ListenStream=127\.0\.0\.1:8090\nFileDescriptorName=console\nService=faass-gateway\.service$/m);
  t.match(both['faass-gateway.service'], /^Requires=faass-gateway\.socket faass-gateway-https\.socket faass-gateway-console\.socket$/m);
  t.match(both['faass-gateway.service'], /^After=faass-gateway\.socket faass-gateway-https\.socket faass-gateway-console\.socket$/m);
});

t.test('no container engine where deployed code runs: /run hidden, a configured socket elsewhere too', async (t) => {
  const box = buildFunctionConfig('box', { runtime: 'docker', image: 'busybox', command: 'cat' });
  const render = (over: Partial<UnitContext>) => renderAllUnits(gw, [...fns, box], { ...ctx, ...over });
  const units = render({ resolvConf: '/run/systemd/resolve/stub-resolv.conf' });
  for (const u of ['faass-fn-hello.service', 'faass-fn-resize.service', 'faass-fn-web-app.service']) {
    t.match(units[u], /^TemporaryFileSystem=\/run:ro$/m, `${u}: the host's /run (a system engine's socket, the system bus) is empty`);
    t.match(units[u], /^BindReadOnlyPaths=-\/run\/systemd\/journal\/dev-log -\/run\/systemd\/resolve\/stub-resolv\.conf$/m, `${u}: but for the journal and the resolver`);
  }
  t.notMatch(units['faass-fn-box.service'], /TemporaryFileSystem=\/run:ro/, "a container function's runner reaches the engine: it runs no deployed code");
  t.notMatch(units['faass-fn-web.service'], /TemporaryFileSystem=\/run:ro/, 'nor does the proxy');
  t.match(render({ engine: '/srv/engine/docker.sock' })['faass-fn-hello.service'], /^TemporaryFileSystem=\/srv\/engine:ro$/m, "an engine configured outside /run: its directory is hidden");
  t.notMatch(render({ engine: '/srv/engine/docker.sock' })['faass-fn-box.service'], /\/srv\/engine/, 'from deployed code only');
  const inHome = render({ engine: '/home/u/docker.sock', engineExists: true })['faass-fn-hello.service'];
  t.notMatch(inHome, /TemporaryFileSystem=\/home\/u:ro/, "a directory that holds faass itself is not hidden (the function would not start)");
  t.match(inHome, /^BindReadOnlyPaths=\/dev\/null:\/home\/u\/docker\.sock$/m, 'the socket alone is covered');
  t.notMatch(render({ engine: '/home/u/docker.sock', engineExists: false })['faass-fn-hello.service'], /\/dev\/null/, 'when it exists: systemd fails a unit whose bind target is missing');
  t.notMatch(render({ engine: '/home/u/.rt/docker.sock', runtime: '/home/u/.rt' })['faass-fn-hello.service'], /TemporaryFileSystem=\/home\/u\/\.rt:ro\n.*\n?TemporaryFileSystem=\/home\/u\/\.rt:ro/, 'a rootless engine in the runtime directory: hidden with it, once');
});

// Issue 11 item 22: a container's processes are the engine's, not the unit's; whatever ends the
// runner, the unit's stop removes its calls' containers.
t.test("a container function's unit removes its calls' containers when it stops", async (t) => {
  const docker = renderAllUnits(gw, [buildFunctionConfig('up', { runtime: 'docker', image: 'busybox', command: 'cat' })], ctx)['faass-fn-up.service'];
  t.match(docker, /^ExecStopPost=\/usr\/bin\/node \/home\/u\/\.local\/lib\/faass\/dist\/runner\/reap\.js --function up$/m, 'ExecStopPost= runs even after a SIGKILL of the runner');
  const limited = renderAllUnits(gw, [buildFunctionConfig('up', { runtime: 'docker', image: 'busybox', memory_max: '64M', tasks_max: '16', cpu_quota: '40' })], ctx)['faass-fn-up.service'];
  t.notMatch(limited, /^(MemoryMax|CPUQuota)=/m, "the function's limits are its containers', not its runner's");
  t.match(limited, /^TasksMax=512$/m, 'the runner gets the default');
  const units = renderAllUnits(gw, fns, ctx);
  for (const f of ['faass-fn-hello.service', 'faass-fn-resize.service', 'faass-fn-web-app.service']) t.notMatch(units[f], /ExecStopPost=/, `${f}: no containers, nothing to remove`);
});

// Issue 11 item 5: the code a user deployed runs in a PID namespace of its own when bubblewrap is
// there; faass's own programs and a container function's runner (no deployed code) do not.
t.test('a PID namespace for deployed code, with bwrap', async (t) => {
  const box = buildFunctionConfig('box', { runtime: 'docker', image: 'busybox', command: 'cat' });
  const units = renderAllUnits(gw, [...fns, box], { ...ctx, bwrap: '/usr/bin/bwrap' });
  for (const u of ['faass-fn-hello.service', 'faass-fn-resize.service', 'faass-fn-web-app.service']) {
    t.match(units[u], /^ExecStart=\/usr\/bin\/bwrap --unshare-user --unshare-pid --disable-userns --die-with-parent --dev-bind \/ \/ --proc \/proc -- \/bin\/sh -c "LISTEN_PID=\$\$\$\$ exec \\"\$\$0\\" \\"\$\$@\\"" \/usr\/bin\/node /m, `${u}: its program runs in bwrap's namespace, told its own pid there`);
    t.match(units[u], /^NotifyAccess=all$/m, `${u}: the program, bwrap's child, may say READY=1`);
    t.match(units[u], /^ExecStop=\/bin\/sh \/home\/u\/\.local\/lib\/faass\/dist\/runner\/stop-in-namespace\.sh$/m, `${u}: a stop reaches the program, not bwrap`);
    t.match(units[u], /^RestrictNamespaces=user pid mnt$/m, `${u}: the namespaces bwrap makes, no others`);
    t.match(units[u], /^SystemCallFilter=mount umount2 pivot_root capset$/m, `${u}: the calls bwrap sets them up with`);
  }
  for (const u of ['faass-fn-box.service', 'faass-fn-web.service', 'faass-gateway.service', 'faass-api.service']) {
    t.notMatch(units[u], /bwrap|NotifyAccess|ExecStop=/, `${u}: runs no deployed code, no namespace`);
    t.match(units[u], /^RestrictNamespaces=yes$/m, `${u}: and may make none`);
  }
  t.notMatch(renderAllUnits(gw, fns, ctx)['faass-fn-hello.service'], /bwrap/, 'without bwrap, units run the program directly');
});
