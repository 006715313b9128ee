// A port is the gateway's or a service's, never both: faassctl init refuses a gateway port a
// deployed service's app holds, and deploy refuses a service on a gateway port (the console's
// included). In-process, with no user manager reachable, against temporary XDG dirs.
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { gatewayConfPath } from '../../src/core/paths';
import { deploy } from '../../src/faassctl/deploy';
import { init } from '../../src/faassctl/init';
import { FaassError, ERRORS } from '../../src/core/errors';
import { managerlessPaths } from '../support/temp-paths';

const quietly = async <T>(f: () => Promise<T>): Promise<T> => {
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await f();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
};

const refusal = async (f: () => Promise<unknown>): Promise<FaassError | string> => {
  try {
    await quietly(f);
    return 'no error';
  } catch (e) {
    return e instanceof FaassError ? e : String(e);
  }
};

const service = (name: string, port: number, network = 'host') => ({ name, kind: 'service', port, network, runtime: 'exec', command: 'sleep 100' });

t.test('init refuses a console port or a gateway port that a deployed service holds, and writes nothing', async (t) => {
  const paths = managerlessPaths(t, 'init-ports');
  await quietly(() => init(paths, { port: 18080 }));
  await quietly(() => deploy(paths, service('web', 19001)));
  const before = fs.readFileSync(gatewayConfPath(paths), 'utf8');

  for (const [what, args] of [['--console-port', { consolePort: 19001 }], ['--port', { port: 19001 }], ['--console-listen', { consoleListen: '127.0.0.1:19001' }]] as const) {
    const e = await refusal(() => init(paths, args));
    t.type(e, FaassError, `${what} 19001 is refused`);
    if (typeof e === 'string') continue;
    t.equal(e.code, 'FAASS_E_CONFIG_INVALID', `${what}: a usage error's code`);
    t.equal(ERRORS[e.code].exit, 2, `${what}: exit code 2, as the CLI's other usage errors`);
    t.match(e.message, /Port 19001 is service web's/, `${what}: the message names the port and the service`);
    t.notMatch(e.message, /\n/, `${what}: one line`);
    t.equal(fs.readFileSync(gatewayConfPath(paths), 'utf8'), before, `${what}: faass.conf is left as it was`);
  }

  t.equal(await refusal(() => init(paths, { consolePort: 19002 })), 'no error', 'another port is taken');
  t.equal(await refusal(() => init(paths, { idle: '5' })), 'no error', 'and an init of another key is not held up by the ports it keeps');
});

t.test('a service in a network of its own holds no host port: init may take that port', async (t) => {
  const paths = managerlessPaths(t, 'init-ports');
  await quietly(() => init(paths, { port: 18080 }));
  await quietly(() => deploy(paths, service('inner', 19001, 'none')));
  t.equal(await refusal(() => init(paths, { consolePort: 19001 })), 'no error');
});

t.test("deploy refuses a service on the console's port as on the gateway's", async (t) => {
  const paths = managerlessPaths(t, 'init-ports');
  await quietly(() => init(paths, { port: 18080, consolePort: 19003 }));
  for (const port of [18080, 19003]) {
    const e = await refusal(() => deploy(paths, service('web', port)));
    t.equal(typeof e === 'string' ? e : e.code, 'FAASS_E_CONFIG_INVALID', `port ${port} is refused`);
    if (typeof e !== 'string') t.match(e.message, new RegExp(`port ${port} is the gateway's`), 'saying whose it is');
  }
});

// yargs hands a number option that is not a number on as NaN.
t.test('init refuses a --port or --console-port that is not a port number, and writes nothing', async (t) => {
  const paths = managerlessPaths(t, 'init-ports');
  await quietly(() => init(paths, { port: 18080 }));
  const before = fs.readFileSync(gatewayConfPath(paths), 'utf8');
  for (const [what, args] of [['--port abc', { port: NaN }], ['--port 70000', { port: 70000 }], ['--console-port 0', { consolePort: 0 }], ['--port 80.5', { port: 80.5 }]] as const) {
    const e = await refusal(() => init(paths, args));
    t.type(e, FaassError, `${what} is refused`);
    if (typeof e === 'string') continue;
    t.equal(ERRORS[e.code].exit, 2, `${what}: exit code 2`);
    t.match(e.message, /^--(console-)?port takes a port number from 1 to 65535$/, `${what}: says what a port is, no NaN`);
    t.equal(fs.readFileSync(gatewayConfPath(paths), 'utf8'), before, `${what}: faass.conf is left as it was`);
  }
});

// The user manager binds the gateway's sockets as this user: an address that cannot be bound
// here (held by another program; a port below 1024 without the privilege) is refused before
// faass.conf changes, not written and then failed by systemd with the old port gone.
t.test('init refuses a new gateway or console address another program listens on, and writes nothing', async (t) => {
  const paths = managerlessPaths(t, 'init-ports');
  await quietly(() => init(paths, { port: 18080 }));
  const before = fs.readFileSync(gatewayConfPath(paths), 'utf8');
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.teardown(() => holder.close());
  const port = (holder.address() as net.AddressInfo).port;
  for (const [what, args] of [['--port', { port }], ['--console-port', { consolePort: port }]] as const) {
    const e = await refusal(() => init(paths, args));
    t.type(e, FaassError, `${what} ${port}, held by another program, is refused`);
    if (typeof e === 'string') continue;
    t.equal(ERRORS[e.code].exit, 2, `${what}: exit code 2`);
    t.match(e.message, new RegExp(`Cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\): another program listens there`), `${what}: says why`);
    t.equal(fs.readFileSync(gatewayConfPath(paths), 'utf8'), before, `${what}: faass.conf is left as it was`);
  }
  await new Promise<void>((resolve) => holder.close(() => resolve()));
  t.equal(await refusal(() => init(paths, { port })), 'no error', 'once it is free, init takes it');
});
