// A function's scratch space is bounded (scratch_max): /tmp, /var/tmp and /dev/shm are tmpfs of
// its own unit, and a write past the bound fails with ENOSPC. As an ordinary user, whose user
// manager is stricter than root's about mounts.
import t from 'tap';
import { startSandbox, setupGateway, request, ROOT, TEST_USER } from '../support/sandbox';

// faass under /tmp (a clone there): a tmpfs over /tmp would hide faass itself, so only /dev/shm
// is a bounded tmpfs of the unit's (units.ts scratchSpace), and /tmp is the host's, read-only.
const PLACES = /^\/(var\/)?tmp(\/|$)/.test(ROOT) ? ['/dev/shm'] : ['/tmp', '/var/tmp', '/dev/shm'];

t.test('scratch space is bounded by scratch_max', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 30);
  // 9 MB into each place; the second writes must fail where 8M is the bound.
  const fill = `for d in ${PLACES.join(' ')}; do head -c 9000000 /dev/zero 2>&1 >$d/fill && echo "$d: written" || echo "$d: refused"; rm -f $d/fill; done; head -c 1000000 /dev/zero > ${PLACES[0]}/small && echo "small: written"`;
  const d = await sb.faassctl('deploy', 'filler', '--command', `sh -c '${fill}'`, '--scratch-max', '8M');
  t.equal(d.code, 0, `deploy ${d.stderr}`);
  const r = await request(sb.port, '/function/filler', { body: '' });
  t.equal(r.status, 200, r.body);
  for (const place of PLACES) {
    t.match(r.body, new RegExp(`No space left on device\\n${place.replace(/\//g, '\\/')}: refused`), `${place}: 9 MB past an 8M bound: ENOSPC`);
  }
  t.match(r.body, /^small: written$/m, 'within the bound, writes succeed');
  t.equal((await sb.faassctl('deploy', 'bad', '--command', 'cat', '--scratch-max', 'lots')).code, 2, 'a size that is no size is refused');

  // The default (64M) holds too: /tmp is a tmpfs of that size, not the host's disk.
  t.equal((await sb.faassctl('deploy', 'sizes', '--command', `df -k ${PLACES.join(' ')}`)).code, 0);
  const df = (await request(sb.port, '/function/sizes', { body: '' })).body;
  const sizes = df.split('\n').slice(1).filter(Boolean).map((l) => l.split(/\s+/).slice(0, 2).join(' '));
  t.same(sizes, PLACES.map(() => 'tmpfs 65536'), `each is a 64M tmpfs of its own: ${df}`);
});
