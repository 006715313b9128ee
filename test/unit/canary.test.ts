// Canaries' pure parts (docs/DESIGN.md "Canaries"): which side a call goes to, sticky by a
// header's value; the error window and the limit; the options and the route file; and a canary's
// version kept by pruning.
import t from 'tap';
import { BUCKETS, WindowCounter, overLimit, stickyBucket, toCanary } from '../../src/gateway/canary-pick';
import { buildCanaryRoute, parseCanaryRoute, percentOf, renderCanaryRoute } from '../../src/functions/canary-spec';
import { recordsToPrune } from '../../src/functions/versions';

// A seeded generator: the same run every time, and many draws.
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

t.test('without a sticky header, calls are split at random by the share', async (t) => {
  const random = lcg(7);
  for (const percent of [1, 10, 20, 50, 99.5]) {
    let canary = 0;
    const n = 100000;
    for (let i = 0; i < n; i++) if (toCanary(percent, null, random)) canary++;
    t.ok(Math.abs((canary / n) * 100 - percent) < 0.5, `${percent}%: ${((canary / n) * 100).toFixed(2)}% of ${n} calls`);
  }
  t.notOk(toCanary(10, null, () => 0.1), 'bucket 1000 of 10000 is past 10%');
  t.ok(toCanary(10, null, () => 0.0999), 'bucket 999 is inside it');
});

t.test('with one: the same value, the same side, every time; values spread by the share', async (t) => {
  const users = Array.from({ length: 20000 }, (_, i) => `user-${i}`);
  const first = users.map((u) => toCanary(20, stickyBucket('echo', u)));
  const again = users.map((u) => toCanary(20, stickyBucket('echo', u), () => 0.99));
  t.same(again, first, 'the random draw plays no part for a value');
  const share = (first.filter(Boolean).length / users.length) * 100;
  t.ok(Math.abs(share - 20) < 1.5, `20%: ${share.toFixed(2)}% of 20000 values`);
  t.ok(users.every((u) => stickyBucket('echo', u) >= 0 && stickyBucket('echo', u) < BUCKETS), 'buckets are in range');
  const elsewhere = users.filter((u) => stickyBucket('echo', u) !== stickyBucket('other', u)).length;
  t.ok(elsewhere > users.length * 0.99, "another function's canary draws its own callers");
  const wider = users.filter((u, i) => first[i] && !toCanary(30, stickyBucket('echo', u))).length;
  t.equal(wider, 0, 'a caller in the canary at 20% is in it at 30% too');
});

t.test('the window counts what its span holds and forgets the rest', async (t) => {
  const w = new WindowCounter(60000);
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < 10; i++) w.add(t0 + i * 1000, i % 2 === 0);
  t.same(w.totals(t0 + 9000), { calls: 10, errors: 5 }, 'ten calls, five errors');
  t.same(w.totals(t0 + 60000), { calls: 9, errors: 4 }, "a minute after the first call, it has left (a slice is a second)");
  t.same(w.totals(t0 + 69000), { calls: 0, errors: 0 }, 'a minute after the last, nothing');
  w.add(t0 + 69500, true);
  t.same(w.totals(t0 + 69500), { calls: 1, errors: 1 }, 'counting again after a gap');
  w.add(t0 + 10 * 3600 * 1000, false);
  t.same(w.totals(t0 + 10 * 3600 * 1000), { calls: 1, errors: 0 }, 'after hours, only the new call');
  w.add(t0 + 10 * 3600 * 1000 - 5000, true); // a late outcome (its call began earlier) counts now
  t.same(w.totals(t0 + 10 * 3600 * 1000), { calls: 2, errors: 1 }, "a late outcome is counted, not lost");
});

t.test('the limit: over the share, and only from the minimum number of calls', async (t) => {
  t.notOk(overLimit({ calls: 9, errors: 9 }, 20, 10), '9 of 9 failed, but fewer than 10 calls');
  t.ok(overLimit({ calls: 10, errors: 3 }, 20, 10), '30% > 20%');
  t.notOk(overLimit({ calls: 10, errors: 2 }, 20, 10), '20% is not over 20%');
  t.notOk(overLimit({ calls: 1000, errors: 1000 }, null, 10), 'no limit: never');
});

t.test('options as a user writes them', async (t) => {
  t.equal(percentOf('--canary', '10%'), 10);
  t.equal(percentOf('--canary', '0.5'), 0.5);
  for (const bad of ['0', '0%', '100%', '150', '-5', 'ten', '10.123%', '']) t.throws(() => percentOf('--canary', bad), { code: 'FAASS_E_USAGE' }, `refused: ${JSON.stringify(bad)}`);
  const r = buildCanaryRoute({ percent: '20%', header: 'X-User', maxErrors: '20%', window: '1min', minCalls: '10' }, 3, '2024-01-01T00:00:00.000Z');
  t.same(r, { version: 3, percent: 20, header: 'x-user', maxErrors: 20, window: 60, minCalls: 10, started: '2024-01-01T00:00:00.000Z' });
  t.same(parseCanaryRoute(renderCanaryRoute(r)), r, 'the route file reads back');
  const d = buildCanaryRoute({ percent: '5' }, 4, 'x');
  t.same([d.header, d.maxErrors, d.window, d.minCalls], [null, null, 60, 10], 'defaults: no header, no abort, a minute, 10 calls');
  t.throws(() => buildCanaryRoute({ percent: '5', header: 'X User' }, 1, ''), { code: 'FAASS_E_USAGE', message: /--canary-header/ });
  t.throws(() => buildCanaryRoute({ percent: '5', window: 'soon' }, 1, ''), { code: 'FAASS_E_USAGE', message: /--canary-window/ });
  t.throws(() => buildCanaryRoute({ percent: '5', minCalls: '0' }, 1, ''), { code: 'FAASS_E_USAGE', message: /--canary-min-calls/ });
  t.throws(() => buildCanaryRoute({ percent: '5', maxErrors: '100%' }, 1, ''), { code: 'FAASS_E_USAGE', message: /--canary-max-errors/ });
  for (const text of ['nope', '{}', JSON.stringify({ ...r, percent: 100 }), JSON.stringify({ ...r, header: 'a b' })]) {
    t.throws(() => parseCanaryRoute(text), { code: 'FAASS_E_CONFIG_BROKEN' }, `a bad route file: ${text.slice(0, 40)}`);
  }
});

t.test("pruning keeps a canary's version whatever its age", async (t) => {
  t.same(recordsToPrune([1, 2, 3, 4, 5], 2, 5, 4), [1, 2, 3], 'without a canary');
  t.same(recordsToPrune([1, 2, 3, 4, 5], 2, 5, 4, 2), [1, 3], 'version 2 is the canary: kept');
});
