// Time spans as systemd writes them (systemd.time(7)), so a user writes --timeout the way they
// write TimeoutSec=: "30" (seconds), "500ms", "5min", "1h 30min", "1.5h", "2 days". Months and
// years are systemd's too (30.44 and 365.25 days). No package parses systemd's grammar; `ms` and
// its kin read "5m" as five minutes but "1h 30min" not at all.
const UNITS: Record<string, number> = {
  usec: 1e-6, us: 1e-6, µs: 1e-6, μs: 1e-6,
  msec: 1e-3, ms: 1e-3,
  seconds: 1, second: 1, sec: 1, s: 1, '': 1,
  minutes: 60, minute: 60, min: 60, m: 60,
  hours: 3600, hour: 3600, hr: 3600, h: 3600,
  days: 86400, day: 86400, d: 86400,
  weeks: 604800, week: 604800, w: 604800,
  months: 2629800, month: 2629800, M: 2629800,
  years: 31557600, year: 31557600, y: 31557600,
};

const COMPONENT = /\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Zµμ]*)/y;

// Seconds, or null when s is not a time span. A number with no unit is seconds.
export function parseTimespan(s: string): number | null {
  if (s.trim() === '') return null;
  let total = 0;
  COMPONENT.lastIndex = 0;
  let at = 0;
  while (at < s.length) {
    if (s.slice(at).trim() === '') break;
    COMPONENT.lastIndex = at;
    const m = COMPONENT.exec(s);
    if (!m || !Object.prototype.hasOwnProperty.call(UNITS, m[2])) return null;
    total += Number(m[1]) * UNITS[m[2]];
    at = COMPONENT.lastIndex;
  }
  return Number.isFinite(total) ? total : null;
}

// How a span is shown back: seconds as a user would write them.
export function formatSeconds(n: number): string {
  return `${Number(n.toFixed(6))}s`;
}
