// Time spans as systemd writes them: what --timeout, --idle, timeout= and idle= accept.
import t from 'tap';
import { parseTimespan } from '../../src/core/timespan';
import { timespan } from '../../src/core/validate';
import { FaassError } from '../../src/core/errors';

t.test('systemd.time(7) spans, in seconds', async (t) => {
  const cases: [string, number][] = [
    ['30', 30], ['0.5', 0.5], ['3s', 3], ['3 sec', 3], ['500ms', 0.5], ['5min', 300], ['5m', 300], ['5 minutes', 300],
    ['1h 30min', 5400], ['1h30min', 5400], ['1.5h', 5400], ['2 days', 172800], ['1w', 604800], ['.5s', 0.5], ['1M', 2629800], ['250us', 0.00025],
  ];
  for (const [s, n] of cases) t.equal(parseTimespan(s), n, JSON.stringify(s));
  for (const s of ['', ' ', 'x', '3x', '-1', '1h -3s', 'inf', 'NaN', '1e3', 'Infinity', '3 seconds ago', '1,5h', '0x10']) t.equal(parseTimespan(s), null, `${JSON.stringify(s)} is not a span`);
});

t.test('a setting that is a span: one clear line when it is not one, or out of range', async (t) => {
  t.equal(timespan('timeout', '1min', 0.1, 86400), 60);
  t.equal(timespan('timeout', 45, 0.1, 86400), 45, 'a number from JSON is seconds');
  const err = (v: unknown) => {
    try {
      timespan('timeout', v, 0.1, 86400);
    } catch (e) {
      return e as FaassError;
    }
    return null;
  };
  t.match(err('3x')?.message, /^Invalid timeout "3x": expected seconds or a time span such as 30s, 5min or 1h 30min$/);
  t.equal(err('3x')?.code, 'FAASS_E_CONFIG_INVALID');
  t.match(err('2d')?.message, /^Invalid timeout "2d": must be between 0\.1s and 86400s \(1d\)$/);
  t.match(err('0')?.message, /must be between/);
  t.match(err(NaN)?.message, /expected seconds/, 'NaN is not a span');
});
