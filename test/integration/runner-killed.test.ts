// A runner killed during a call: the call is answered 502 FAASS_E_RUNNER_STOPPED and is not run a
// second time (issue 11 item 20: the gateway used to replay it on a fresh connection, so a POST
// that appended to a file appended twice).
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startSandbox, setupGateway, request, waitFor, writeFixture, errorCode, Reply } from '../support/sandbox';

// Appends its body as a line to LOG, then answers. The first run of a call "first" stays running
// (so the test can kill the runner under it); a replay of it would answer at once.
const appender = (log: string) => `#!/bin/sh
body=$(cat)
echo "$body" >> ${log}
if [ "$body" = first ] && [ "$(grep -c '^first$' ${log})" = 1 ]; then exec sleep 300; fi
echo "done $body"
`;

const lines = (file: string): string[] => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

t.test('a call the runner had started is answered 502 and never replayed', async (t) => {
  const sb = await startSandbox(t);
  await setupGateway(sb, 1);
  // A directory only this test writes, made writable for the function's unit by a drop-in (the
  // unit's file system is read-only elsewhere).
  const dir = path.join(sb.dir, 'side-effects');
  fs.mkdirSync(dir, { mode: 0o700 });
  const log = path.join(dir, 'calls.log');
  const script = writeFixture(sb, 'appender.sh', appender(log), 0o755);
  const dep = await sb.faassctl('deploy', 'appender', '--runtime', 'exec', '--from-file', script, '--timeout', '120', '--idle', '30');
  t.equal(dep.code, 0, `deploy ${dep.stderr}`);
  const dropIn = path.join(sb.env.XDG_CONFIG_HOME as string, 'systemd', 'user', 'faass-fn-appender.service.d');
  fs.mkdirSync(dropIn, { recursive: true });
  fs.writeFileSync(path.join(dropIn, 'test-side-effects.conf'), `[Service]\nReadWritePaths=${dir}\n`);
  t.equal((await sb.systemctl('daemon-reload')).code, 0, 'daemon-reload');

  const first: Promise<Reply> = request(sb.port, '/function/appender', { body: 'first', timeoutMs: 110_000 });
  await waitFor('the call to be running (its line in the file)', () => lines(log).includes('first'), 60_000);
  const pid = Number((await sb.systemctl('show', 'faass-fn-appender.service', '--property=MainPID', '--value')).stdout.trim());
  t.ok(pid > 0, 'the runner has a main pid');
  process.kill(pid, 'SIGKILL');

  const r = await first;
  t.equal(r.status, 502, `the caller gets 502 (got ${r.status} ${r.body})`);
  t.equal(errorCode(r.body), 'FAASS_E_RUNNER_STOPPED', 'with the code that says the runner stopped during the call');
  t.match(r.body, /stopped during the call.*not retried/, 'and a message saying it was not retried');

  // A later call is served by the next runner; a replay of the first would have run before it.
  const second = await request(sb.port, '/function/appender', { body: 'second', timeoutMs: 110_000 });
  t.equal(second.status, 200, `the next call is answered ${second.body}`);
  t.same(lines(log), ['first', 'second'], 'the first call ran exactly once, the second once, in order');
});
