// faass-revive's wait before it starts a failed socket again: a few seconds at first, doubling
// with each revive in a row up to a minute, forgotten once the socket stayed up for a while.
import t from 'tap';
import { FIRST_WAIT_SECONDS, FORGET_SECONDS, MAX_WAIT_SECONDS, isFaassSocket, nextRevive, parseRecord } from '../../src/revive/backoff';

t.test('the wait grows with revives in a row, up to the cap', async (t) => {
  const now = 1_000_000_000;
  t.same(nextRevive(null, now), { waitSeconds: FIRST_WAIT_SECONDS, streak: 1 }, 'the first revive waits a few seconds');
  let record = { streak: 0, at: now };
  const waits: number[] = [];
  for (let i = 0; i < 8; i++) {
    const r = nextRevive(i === 0 ? null : record, now + i * 1000);
    waits.push(r.waitSeconds);
    record = { streak: r.streak, at: now + i * 1000 };
  }
  t.same(waits, [3, 6, 12, 24, 48, 60, 60, 60], 'doubling, capped at a minute');
  t.equal(MAX_WAIT_SECONDS, 60);
});

t.test('a socket that stayed up starts over', async (t) => {
  const at = 1_000_000_000;
  t.equal(nextRevive({ streak: 5, at }, at + (FORGET_SECONDS - 1) * 1000).waitSeconds, MAX_WAIT_SECONDS, 'failed again soon: still the long wait');
  t.same(nextRevive({ streak: 5, at }, at + FORGET_SECONDS * 1000), { waitSeconds: FIRST_WAIT_SECONDS, streak: 1 }, 'up for FORGET_SECONDS: the first wait again');
});

t.test('a record that cannot be read counts as none', async (t) => {
  t.same(parseRecord('{"streak":2,"at":5}\n'), { streak: 2, at: 5 });
  for (const bad of [null, '', 'garbage', '{"streak":-1,"at":5}', '{"streak":1.5,"at":5}', '{"streak":1}', 'null']) t.equal(parseRecord(bad), null, JSON.stringify(bad));
});

t.test('only faass sockets are revived', async (t) => {
  for (const ok of ['faass-gateway.socket', 'faass-gateway-https.socket', 'faass-api.socket', 'faass-fn-hello.socket']) t.ok(isFaassSocket(ok), ok);
  for (const bad of ['faass-fn-hello.service', 'sshd.socket', 'faass-fn-x.socket; rm', '../faass-x.socket', 'faass-Fn.socket', '']) t.notOk(isFaassSocket(bad), JSON.stringify(bad));
});
