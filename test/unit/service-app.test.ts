// Pure parts of the service app: container options, and readiness probes on loopback sockets.
import t from 'tap';
import * as net from 'node:net';
import * as http from 'node:http';
import { buildFunctionConfig, parseFunctionConfig, renderFunctionConfig } from '../../src/functions/function-config';
import { containerSpec } from '../../src/docker/container-spec';
import { waitReady } from '../../src/app/ready';
import { checkServicePort } from '../../src/functions/deploy-plan';

const svc = (extra: Record<string, unknown> = {}) => buildFunctionConfig('web', { kind: 'service', port: '9001', runtime: 'docker', image: 'busybox', ...extra });

t.test('container options: a network of its own by default, host when asked, bridge publishes on loopback only', async (t) => {
  const own = containerSpec(svc(), { kind: 'service', install: 'i-1' });
  t.equal(own.HostConfig?.NetworkMode, 'none', 'none by default: loopback only, reached through its forwarder');
  t.equal(own.HostConfig?.PortBindings, undefined, 'nothing published');
  t.equal(own.name, 'faass-svc-i-1-web');
  t.ok(own.Env?.includes('PORT=9001'), 'the app is told its port');
  t.equal(containerSpec(svc({ network: 'host' }), { kind: 'service', install: 'i-1' }).HostConfig?.NetworkMode, 'host', "the host's network when asked");
  const bridge = containerSpec(svc({ network: 'bridge' }), { kind: 'service', install: 'i-1' });
  t.equal(bridge.HostConfig?.NetworkMode, 'bridge');
  t.same(bridge.ExposedPorts, { '9001/tcp': {} });
  t.same(bridge.HostConfig?.PortBindings, { '9001/tcp': [{ HostIp: '127.0.0.1', HostPort: '9001' }] }, 'published on 127.0.0.1, never on all addresses');
});

const listen = (server: net.Server) => new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)));

t.test('readiness: a published port that accepts but does not answer HTTP is not ready', async (t) => {
  const mute = net.createServer((s) => s.on('error', () => undefined)); // like docker-proxy before the app listens
  const port = await listen(mute);
  t.teardown(() => mute.close());
  t.equal(await waitReady({ port }, undefined, 0.3, () => true), 'ready', 'a process app: an accepted connection is enough');
  t.equal(await waitReady({ port }, undefined, 0.5, () => true, true), 'timeout', 'a published port: it is not');
});

t.test('readiness: any HTTP answer for a published port, 2xx/3xx from a health path', async (t) => {
  let healthy = false;
  const app = http.createServer((req, res) => {
    res.writeHead(req.url === '/health' ? (healthy ? 200 : 503) : 404);
    res.end();
  });
  const port = await listen(app);
  t.teardown(() => app.close());
  t.equal(await waitReady({ port }, undefined, 2, () => true, true), 'ready', 'a 404 for / is an app that answers');
  t.equal(await waitReady({ port }, '/health', 0.3, () => true, true), 'timeout', 'a health path answering 503 is not ready');
  setTimeout(() => (healthy = true), 100);
  t.equal(await waitReady({ port }, '/health', 2, () => true), 'ready', 'it is once the health path answers 200');
  t.equal(await waitReady({ port }, '/health', 2, () => false), 'died', 'an app that is gone is not waited for');
});

t.test('a process app: a network of its own unless it asks for the host', async (t) => {
  const proc = (extra: Record<string, unknown> = {}) => buildFunctionConfig('web', { kind: 'service', port: '9001', runtime: 'exec', command: 'httpd', ...extra });
  t.equal(proc().network, 'none', 'none by default: reached only through faass');
  t.equal(proc({ network: 'host' }).network, 'host', 'host when asked');
  t.equal(parseFunctionConfig('web', renderFunctionConfig(proc({ network: 'host' }))).network, 'host', 'and kept in its file');
  t.throws(() => proc({ network: 'bridge' }), /network bridge is only for containers/);
  t.throws(() => buildFunctionConfig('f', { runtime: 'exec', command: 'cat', network: 'host' }), /network is only for runtime docker and for services/, 'a process function has no network setting');
});

t.test("a service on the host's network cannot take the gateway's port", async (t) => {
  const on = (extra: Record<string, unknown>) => buildFunctionConfig('web', { kind: 'service', port: '8080', runtime: 'exec', command: 'httpd', ...extra });
  t.throws(() => checkServicePort(on({ network: 'host' }), [8080]), /port 8080 is the gateway's/);
  t.throws(() => checkServicePort(svc({ port: '8080', network: 'host' }), [8443, 8080]), /port 8080 is the gateway's/, 'a container on the host network neither');
  t.doesNotThrow(() => checkServicePort(on({}), [8080]), 'a process app in a network of its own has its own ports');
  t.doesNotThrow(() => checkServicePort(svc({ port: '8080' }), [8080]), 'and so has a container in a network of its own');
  t.doesNotThrow(() => checkServicePort(on({ network: 'host' }), [8443]), 'another port is fine');
});
