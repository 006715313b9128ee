// The slots a container function's calls take before they get a container: never more than
// `workers` at once, the others in order, each waiting no longer than its timeout.
import t from 'tap';
import { Slots } from '../../src/runner/slots';

const timedOut = () => new Error('timed out');

t.test('at most size at once; a release lets the first waiter in', async (t) => {
  const slots = new Slots(2);
  const a = await slots.acquire(10_000, timedOut);
  const b = await slots.acquire(10_000, timedOut);
  const order: string[] = [];
  const c = slots.acquire(10_000, timedOut).then((r) => (order.push('c'), r));
  const d = slots.acquire(10_000, timedOut).then((r) => (order.push('d'), r));
  t.equal(slots.inUse, 2, 'two held');
  t.equal(slots.queued, 2, 'two waiting');
  a();
  a(); // a second release of the same slot frees nothing more
  const releaseC = await c;
  t.same(order, ['c'], 'the first waiter got the freed slot, and only it');
  t.equal(slots.inUse, 2);
  b();
  (await d)();
  releaseC();
  t.equal(slots.inUse, 0, 'all released');
});

t.test('a waiter whose time is up leaves the queue with its error', async (t) => {
  const slots = new Slots(1);
  const held = await slots.acquire(10_000, timedOut);
  await t.rejects(slots.acquire(20, timedOut), { message: 'timed out' });
  t.equal(slots.queued, 0, 'no longer queued');
  held();
  t.equal(slots.inUse, 0, 'the freed slot went to nobody who had left');
});

t.test('close fails the waiters and every later acquire', async (t) => {
  const slots = new Slots(1);
  await slots.acquire(10_000, timedOut);
  const waiting = slots.acquire(10_000, timedOut);
  slots.close(new Error('stopped'));
  await t.rejects(waiting, { message: 'stopped' });
  await t.rejects(slots.acquire(10_000, timedOut), { message: 'stopped' });
});
