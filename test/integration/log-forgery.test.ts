// A function cannot write into another function's log, nor into the gateway's or the API's:
// any process of a function's unit can send journald's native protocol every field but the
// trusted ones (_SYSTEMD_USER_UNIT=, _UID=, ...), so `faassctl logs` must select on those. A
// hostile function (`forger`, logger --journald from util-linux) claims to be `victim`'s runner
// for one of victim's calls, and the gateway and the API; the lines land in the journal, and
// none of them shows in `faassctl logs victim|gateway|api`, while the genuine ones do.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { startSandbox, setupGateway, request, waitFor, writeFixture, TEST_USER } from '../support/sandbox';
import { journalEntries, sandboxJournal } from '../support/journal';

// Its body: "CALL_ID TOKEN". Each entry claims what the real sender's lines carry. It goes by
// journald's native protocol, as sd_journal_send(3) would; the sender stays alive until journald
// has taken the datagram off its socket (SIOCOUTQ 0), so that journald finds its unit: a sender
// that exits first is placed in no unit, and the test would not be testing the hard case.
const FORGER = `#!/usr/bin/python3
import fcntl, socket, struct, sys, termios, time
call_id, token = sys.stdin.read().split()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
def forge(fields):
    s.sendto("".join(f"{k}={v}\\n" for k, v in fields.items()).encode(), "/run/systemd/journal/socket")
    while struct.unpack("i", fcntl.ioctl(s.fileno(), termios.TIOCOUTQ, b"\\0" * 4))[0] > 0:
        time.sleep(0.001)
forge({"MESSAGE": f"forged {token} as victim", "FAASS_FUNCTION": "victim", "FAASS_CALL_ID": call_id,
       "SYSLOG_IDENTIFIER": "faass-fn-victim", "USER_UNIT": "faass-fn-victim.service", "PRIORITY": "6"})
forge({"MESSAGE": f"forged {token} as the gateway", "FAASS_FUNCTION": "victim", "FAASS_CALL_ID": call_id,
       "SYSLOG_IDENTIFIER": "faass-gateway", "USER_UNIT": "faass-gateway.service", "PRIORITY": "4"})
forge({"MESSAGE": f"forged {token} as the API", "FAASS_FUNCTION": "api",
       "SYSLOG_IDENTIFIER": "faass-api", "USER_UNIT": "faass-api.service", "PRIORITY": "6"})
print("sent")
`;

t.test('log lines cannot be forged into another unit\'s log', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 30);
  // The journal is shared with whatever else runs on the machine: look for this run's token only.
  const token = randomBytes(6).toString('hex');
  const callId = `victim-${token}`;
  writeFixture(sb, 'victim.sh', '#!/bin/sh\nread -r what\necho "genuine $what" >&2\necho ok\n', 0o755);
  writeFixture(sb, 'forger.sh', FORGER, 0o755);
  for (const [name, file] of [['victim', 'victim.sh'], ['forger', 'forger.sh']]) {
    const d = await sb.faassctl('deploy', name, '--runtime', 'exec', '--command', `${sb.dir}/fixtures/${file}`, '--idle', '30');
    t.equal(d.code, 0, `deploy ${name} ${d.stderr}`);
  }
  const v = await request(sb.port, '/function/victim', { body: `${token}\n`, headers: { 'x-call-id': callId } });
  t.equal(v.status, 200, `victim answers ${v.body}`);
  const f = await request(sb.port, '/function/forger', { body: `${callId} ${token}\n` });
  t.equal(f.body, 'sent\n', 'the forger sent its lines');

  // The genuine side: the API deploys a function (its line names it) and the gateway refuses a
  // made-up credential (its line names that).
  const admin = await sb.faassctl('credentials', 'add', 'root', '--admin');
  t.equal(admin.code, 0, admin.stderr);
  const made = `made-${token}`;
  const created = await request(sb.port, '/system/functions', { method: 'POST', body: JSON.stringify({ name: made, runtime: 'exec', command: 'cat' }), headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.stdout.trim()}` } });
  t.equal(created.status, 201, `the API deploys ${made} ${created.body}`);
  const wrong = await request(sb.port, '/system/functions', { method: 'GET', headers: { authorization: `Bearer probe${token}.${'A'.repeat(43)}` } });
  t.equal(wrong.status, 401, 'a made-up credential: 401');

  const journal = (...args: string[]) => sandboxJournal(sb, ...args);
  for (const who of ['victim', 'the gateway', 'the API']) {
    await waitFor(`the line forged as ${who} in the journal`, async () => (await journal(`MESSAGE=forged ${token} as ${who}`)).includes(token), 30000);
    const sender = await journalEntries(sb, [`MESSAGE=forged ${token} as ${who}`]);
    t.same(sender.map((e) => e._SYSTEMD_USER_UNIT), ['faass-fn-forger.service'], `journald places the line forged as ${who} in forger's unit`);
  }
  await waitFor("victim's own lines in the journal", async () => {
    const lines = await journal(`FAASS_CALL_ID=${callId}`);
    return lines.includes(`genuine ${token}`) && lines.includes(`call=${callId} `);
  }, 30000);
  await waitFor("the API's line in the journal", async () => (await journal('_SYSTEMD_USER_UNIT=faass-api.service')).includes(`deployed ${made} `), 30000);
  await waitFor("the gateway's refusal in the journal", async () => (await journal('_SYSTEMD_USER_UNIT=faass-gateway.service')).includes(`as probe${token}`), 30000);

  const logs = async (...args: string[]) => {
    const r = await sb.faassctl('logs', ...args);
    t.equal(r.code, 0, `faassctl logs ${args.join(' ')} ${r.stderr}`);
    return r.stdout;
  };
  const all = await logs('victim');
  t.match(all, `genuine ${token}`, "faassctl logs victim: victim's stderr");
  t.match(all, `call=${callId} function=victim status=200`, 'and its call line');
  t.notMatch(all, `forged ${token}`, 'and no line another function forged as victim, or as the gateway about victim');
  const one = await logs('victim', '--call', callId);
  t.match(one, `genuine ${token}`, 'faassctl logs victim --call ID: the call\'s lines');
  t.notMatch(one, `forged ${token}`, 'and none forged with that call id');
  const gateway = await logs('gateway');
  t.match(gateway, `as probe${token}`, "faassctl logs gateway: the gateway's lines");
  t.notMatch(gateway, `forged ${token}`, 'and none a function forged');
  const api = await logs('api');
  t.match(api, `deployed ${made} `, "faassctl logs api: the API's lines");
  t.notMatch(api, `forged ${token}`, 'and none a function forged');
});
