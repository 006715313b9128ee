// Nothing leaves a unit down for good (issue 11 item 7). A runner that fails at every start (its
// code directory gone) under load reaches its start limit, and systemd fails its socket: every
// connection refused. systemd never restarts a socket on its own; faass-revive@.service
// (OnFailure= of every socket) does, after a pause, with no one running reset-failed: once the
// cause is fixed, calls are served again. And a service's app that finds faass.conf bad does not
// fail its unit: the gateway answers 503 with the reason. As an ordinary user, whose manager
// refuses settings root's forgives.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startSandbox, setupGateway, request, waitFor, unitState, errorCode, freePort, TEST_USER } from '../support/sandbox';
import { sandboxJournal } from '../support/journal';

t.test('units that fail', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  // A gateway that stays (60 s idle): the app test needs one that read faass.conf before it went bad.
  await setupGateway(sb, 60);

  t.test('a socket failed by a crash loop is revived once the cause is fixed', async (t) => {
    // A name of this run's own: the journal is the machine's, earlier runs' lines are in it.
    const name = `crashy-${process.pid}`;
    const socket = `faass-fn-${name}.socket`;
    const deploy = await sb.faassctl('deploy', name, '--command', 'cat', '--idle', '1');
    t.equal(deploy.code, 0, `deploy ${name} ${deploy.stderr}`);
    t.equal((await request(sb.port, `/function/${name}`, { body: 'before' })).body, 'before', 'served before');
    await waitFor('the runner to exit idle', async () => (await unitState(sb, `faass-fn-${name}.service`)).startsWith('inactive'), 30000);

    // The runner cannot start without its code: its unit fails at every start.
    const code = path.join(sb.env.XDG_DATA_HOME as string, 'faass', 'functions', name);
    fs.renameSync(code, `${code}.away`);
    t.teardown(() => fs.existsSync(`${code}.away`) && fs.renameSync(`${code}.away`, code));

    // Modest load (4 callers) until systemd gives up on the socket; the callers stop when it has.
    let failed = false;
    const caller = async () => {
      while (!failed) await request(sb.port, `/function/${name}`, { body: 'x', timeoutMs: 20000 }).catch(() => undefined);
    };
    const callers = Promise.all(Array.from({ length: 4 }, caller));
    // The socket's state and why, read together (the revive resets both a few seconds later).
    let result = '';
    const socketFailed = async () => {
      const shown = (await sb.systemctl('show', socket, '--property=ActiveState,Result')).stdout;
      result = /^Result=(.*)$/m.exec(shown)?.[1] ?? '';
      return /^ActiveState=failed$/m.test(shown);
    };
    await waitFor('the socket to fail', async () => (failed = await socketFailed()), 120000).finally(() => (failed = true));
    // faassctl status while faass-revive waits (while the code is away, every revive fails again
    // and the next wait is longer: the state comes back, whatever the machine's speed).
    const reviving = new RegExp(`^${name}\\s+function\\s+failed, reviving\\s`, 'm');
    let failedStatus = await sb.faassctl('status');
    await waitFor('faassctl status to show it failed and waiting to be revived', async () => reviving.test((failedStatus = await sb.faassctl('status')).stdout), 60000).catch(() => undefined);
    await callers;
    t.pass('the socket failed under load');
    t.equal(failedStatus.code, 5, 'faassctl status: exit 5 while it is failed');
    t.match(failedStatus.stdout, reviving, 'its row says it is failed and will be started again');
    t.match(result, /^(service-start-limit-hit|trigger-limit-hit)$/, `it failed on a limit (${result})`);

    // Fixed: nobody runs reset-failed, calls are served again and the socket listens.
    fs.renameSync(`${code}.away`, code);
    await waitFor('a call served after the fix', async () => (await request(sb.port, `/function/${name}`, { body: 'after', timeoutMs: 20000 }).catch(() => null))?.body === 'after', 120000);
    t.pass('served again, with no reset-failed');
    t.match(await unitState(sb, socket), /^active\/(running|listening)$/, 'the socket is active');
    const revived = () => sandboxJournal(sb, `--user-unit=faass-revive@${socket}.service`);
    await waitFor('the revive to say what it did', async () => (await revived()).includes(`Revived ${socket} (it had failed: `), 30000);
    t.pass('the journal says the socket was revived, and why it had failed');
    const revive = `faass-revive@${socket}.service`;
    await waitFor('the revive to end', async () => (await unitState(sb, revive)).startsWith('inactive'), 30000);
    t.equal((await sb.systemctl('show', revive, '--property=Result', '--value')).stdout.trim(), 'success', 'and ended well');
    const status = await sb.faassctl('status');
    t.match(status.stdout, new RegExp(`^${name}\\s+function\\s+listening, revived \\d+s ago\\s`, 'm'), 'faassctl status: listening again, revived lately');
  });

  t.test("a service's app that finds faass.conf bad: 503 with the reason, its unit does not fail", async (t) => {
    const port = await freePort();
    const d = await sb.faassctl('deploy', 'site', '--kind', 'service', '--port', String(port), '--command', `python3 -m http.server ${port} --bind 127.0.0.1 --directory /usr/share`, '--idle', '1');
    t.equal(d.code, 0, `deploy site ${d.stderr}`);
    t.equal((await request(sb.port, '/healthz', { method: 'GET' })).status, 200, 'the gateway runs, with the good file');
    const conf = path.join(sb.env.XDG_CONFIG_HOME as string, 'faass', 'faass.conf');
    const good = fs.readFileSync(conf, 'utf8');
    t.teardown(() => fs.writeFileSync(conf, good));
    fs.writeFileSync(conf, good.replace('[gateway]\n', '[gateway]\ntimeout=soon\n'));
    const r = await request(sb.port, '/function/site/', { method: 'GET' });
    t.equal(r.status, 503, 'the call fails');
    t.equal(errorCode(r.body), 'FAASS_E_SERVICE_NOT_READY', 'the service did not get ready');
    t.match(r.body, /its configuration is broken: .*faass\.conf: Invalid timeout \\"soon\\"/, 'saying which file and what is wrong');
    await waitFor('the app unit to stop', async () => /^(inactive|failed)/.test(await unitState(sb, 'faass-fn-site-app.service')), 30000);
    t.equal((await sb.systemctl('show', 'faass-fn-site-app.service', '--property=Result', '--value')).stdout.trim(), 'success', 'the app unit did not fail');
    fs.writeFileSync(conf, good);
    await waitFor('the service served after the fix', async () => (await request(sb.port, '/function/site/', { method: 'GET' })).body.includes('Directory listing'), 60000);
    t.pass('served once the file is fixed');
  });
});
