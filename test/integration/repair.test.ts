// A function left with its file and units but no listening socket (a first deploy killed at the
// wrong moment, a socket stopped by hand) is named by faassctl status, which exits 1, and
// faassctl generate-units brings its socket back (issue 11 item 23: before, status exited 0 and
// generate-units left it so, every call 502).
import t from 'tap';
import { startSandbox, setupGateway, request, unitState } from '../support/sandbox';

t.test('a function without its socket', async (t) => {
  const sb = await startSandbox(t);
  await setupGateway(sb, 1);
  t.equal((await sb.faassctl('deploy', 'cat', '--command', 'cat', '--idle', '1')).code, 0, 'deploy cat');
  t.equal((await sb.faassctl('deploy', 'ok', '--command', 'cat', '--idle', '1')).code, 0, 'deploy ok');
  t.equal((await sb.faassctl('status')).code, 0, 'status: all well, exit 0');
  // What a deploy killed before it enabled the socket leaves: the file and the units, no socket.
  t.equal((await sb.systemctl('disable', '--now', 'faass-fn-cat.socket')).code, 0);
  t.equal((await request(sb.port, '/function/cat', { body: 'x' })).status, 502, 'calls fail');

  const st = await sb.faassctl('status');
  t.equal(st.code, 1, 'status exits 1');
  t.match(st.stdout, /^Broken: cat \(socket inactive\)/m, 'and names the function and why');
  t.notMatch(st.stdout, /Broken: .*\bok\b/, 'not the one that works');

  const gen = await sb.faassctl('generate-units');
  t.equal(gen.code, 0, 'generate-units');
  t.equal(await unitState(sb, 'faass-fn-cat.socket'), 'active/listening', 'the socket listens again');
  t.equal((await sb.systemctl('is-enabled', 'faass-fn-cat.socket')).stdout.trim(), 'enabled', 'and is enabled, so it survives a restart of the manager');
  t.equal((await request(sb.port, '/function/cat', { body: 'back' })).body, 'back', 'calls are served');
  t.equal((await sb.faassctl('status')).code, 0, 'status: exit 0 again');
});
