// A function left with its file and units but no listening socket (a socket stopped by hand; a
// killed deploy: deploy-killed.test.ts) is named by faassctl status, which exits 5, and
// faassctl generate-units brings its socket back (issue 11 item 23: before, status exited 0 and
// generate-units left it so, every call 502).
import t from 'tap';
import { startSandbox, setupGateway, request, unitState, TEST_USER } from '../support/sandbox';

t.test('a function without its socket', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 1);
  t.equal((await sb.faassctl('deploy', 'cat', '--command', 'cat', '--idle', '1')).code, 0, 'deploy cat');
  t.equal((await sb.faassctl('deploy', 'ok', '--command', 'cat', '--idle', '1')).code, 0, 'deploy ok');
  t.equal((await sb.faassctl('status')).code, 0, 'status: all well, exit 0');
  // The file and the units, no socket.
  t.equal((await sb.systemctl('disable', '--now', 'faass-fn-cat.socket')).code, 0);
  t.equal((await request(sb.port, '/function/cat', { body: 'x' })).status, 502, 'calls fail');

  const st = await sb.faassctl('status');
  t.equal(st.code, 5, 'status exits 5 (FAASS_E_FUNCTION_UNREACHABLE)');
  t.match(st.stdout, /^Broken:\n {2}cat: socket inactive; faassctl generate-units starts it again\n(?! )/m, 'a line: the function, why, and the command that fixes it');
  t.notMatch(st.stdout, /^ {2}ok:/m, 'not the one that works');
  t.equal((await sb.faassctl('status', 'ok')).code, 0, 'status ok: only that function, exit 0');
  const none = await sb.faassctl('status', 'nope');
  t.equal(none.code, 3, 'status of no such function: exit 3');
  t.match(none.stderr, /No function named nope/);

  const gen = await sb.faassctl('generate-units');
  t.equal(gen.code, 0, 'generate-units');
  t.match(gen.stdout, /^Sockets enabled and listening again, failed units reset: cat$/m, 'says what it repaired');
  t.equal(await unitState(sb, 'faass-fn-cat.socket'), 'active/listening', 'the socket listens again');
  t.equal((await sb.systemctl('is-enabled', 'faass-fn-cat.socket')).stdout.trim(), 'enabled', 'and is enabled, so it survives a restart of the manager');
  t.equal((await request(sb.port, '/function/cat', { body: 'back' })).body, 'back', 'calls are served');
  t.equal((await sb.faassctl('status')).code, 0, 'status: exit 0 again');

  // Listening but disabled (gone after the manager restarts): generate-units enables it again.
  t.equal((await sb.systemctl('disable', 'faass-fn-cat.socket')).code, 0, 'disable the socket, left listening');
  t.match((await sb.faassctl('generate-units')).stdout, /^Sockets enabled and listening again, failed units reset: cat$/m, 'generate-units repairs it');
  t.equal((await sb.systemctl('is-enabled', 'faass-fn-cat.socket')).stdout.trim(), 'enabled', 'enabled again');
});
