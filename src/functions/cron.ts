// Schedule specs (pure): a systemd calendar expression is used as it is; a five-field cron line
// (or @hourly, @daily, ...) is translated into OnCalendar= expressions. systemd-analyze is the
// judge of what comes out (systemd/calendar.ts): this only has to translate what cron means.
import { fail } from '../core/errors';

export type SpecKind = 'cron' | 'calendar';

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

// Cron fields hold only these characters; a calendar expression always has a ':' or is a word
// of systemd's (hourly, daily...), so five such fields are a cron line.
const CRON_FIELD = /^[0-9A-Za-z*,/-]+$/;

export function specKind(spec: string): SpecKind {
  const s = spec.trim();
  if (s.startsWith('@')) return 'cron';
  const fields = s.split(/\s+/);
  return fields.length === 5 && fields.every((f) => CRON_FIELD.test(f)) ? 'cron' : 'calendar';
}

interface Field {
  what: string;
  min: number;
  max: number;
  names?: string[]; // index + min = value
}

const MINUTE: Field = { what: 'minute', min: 0, max: 59 };
const HOUR: Field = { what: 'hour', min: 0, max: 23 };
const DOM: Field = { what: 'day of month', min: 1, max: 31 };
const MONTH: Field = { what: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] };
// 0 and 7 are both Sunday.
const DOW: Field = { what: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] };

const bad = (line: string, why: string): never => fail('FAASS_E_CONFIG_INVALID', `Invalid cron line ${JSON.stringify(line.slice(0, 80))}: ${why}`);

function value(line: string, f: Field, text: string): number {
  const named = f.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return named + (f === DOW ? 0 : f.min);
  if (!/^\d+$/.test(text)) bad(line, `${JSON.stringify(text)} is not a ${f.what}`);
  const n = Number(text);
  if (n < f.min || n > f.max) bad(line, `${f.what} ${n} is outside ${f.min}-${f.max}`);
  return n;
}

// One field as a systemd list: `*`, a step on everything (`*/5` -> start/5), or its values,
// ranges and steps spelled systemd's way (a-b -> a..b, a-b/n -> a..b/n, a/n -> a/n).
function numeric(line: string, f: Field, text: string): string {
  if (text === '*') return '*';
  return text
    .split(',')
    .map((part) => {
      const [range, step, more] = part.split('/');
      if (more !== undefined || range === '') bad(line, `${JSON.stringify(part)} is not a ${f.what}, range or step`);
      if (step !== undefined && (!/^\d+$/.test(step) || Number(step) === 0)) bad(line, `step ${JSON.stringify(step)} is not a whole number above 0`);
      const by = step === undefined ? '' : `/${Number(step)}`;
      if (range === '*') return step === undefined ? '*' : `${f.min}${by}`;
      const [a, b, extra] = range.split('-');
      if (extra !== undefined) bad(line, `${JSON.stringify(range)} is not a range`);
      const lo = value(line, f, a);
      if (b === undefined) return `${lo}${by}`;
      const hi = value(line, f, b);
      if (hi < lo) bad(line, `range ${range} runs backwards`);
      return `${lo}..${hi}${by}`;
    })
    .join(',');
}

const SYSTEMD_DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

// Days of the week as systemd names them, Monday first (systemd's week; its ranges cannot wrap
// past Sunday, so the days are listed, runs of three or more as ranges).
function weekdays(line: string, text: string): string {
  const days = new Set<number>();
  for (const part of text.split(',')) {
    const [range, step, more] = part.split('/');
    if (more !== undefined || range === '') bad(line, `${JSON.stringify(part)} is not a day of week, range or step`);
    if (step !== undefined && (!/^\d+$/.test(step) || Number(step) === 0)) bad(line, `step ${JSON.stringify(step)} is not a whole number above 0`);
    const [a, b, extra] = range.split('-');
    if (extra !== undefined) bad(line, `${JSON.stringify(range)} is not a range`);
    const lo = range === '*' ? 0 : value(line, DOW, a);
    const hi = range === '*' ? 6 : b === undefined ? (step === undefined ? lo : 7) : value(line, DOW, b);
    if (hi < lo) bad(line, `range ${range} runs backwards`);
    for (let d = lo; d <= hi; d += step === undefined ? 1 : Number(step)) days.add(d % 7);
  }
  const order = [1, 2, 3, 4, 5, 6, 0].filter((d) => days.has(d));
  const out: string[] = [];
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && (order[j + 1] - order[j] === 1 || (order[j] === 6 && order[j + 1] === 0))) j++;
    if (j - i >= 2) out.push(`${SYSTEMD_DAYS[order[i]]}..${SYSTEMD_DAYS[order[j]]}`);
    else for (let k = i; k <= j; k++) out.push(SYSTEMD_DAYS[order[k]]);
    i = j + 1;
  }
  return out.join(',');
}

const pad2 = (s: string) => s.replace(/(^|[,.])(\d)(?=$|[,./])/g, '$10$2');

// A cron line as OnCalendar= expressions (without a time zone). Cron runs when the day of month
// OR the day of week matches if both are restricted (neither starts with '*', as Vixie cron
// reads it): systemd ANDs them, so that is two expressions, one for each.
export function cronToCalendar(line: string): string[] {
  const trimmed = line.trim();
  const expanded = trimmed.startsWith('@') ? MACROS[trimmed.toLowerCase()] ?? bad(line, `${trimmed} is not one of ${Object.keys(MACROS).join(', ')} (@reboot has no time)`) : trimmed;
  const fields = expanded.split(/\s+/);
  if (fields.length !== 5) bad(line, 'expected five fields: minute hour day-of-month month day-of-week');
  const [mi, ho, dm, mo, dw] = fields;
  const time = `${pad2(numeric(line, HOUR, ho))}:${pad2(numeric(line, MINUTE, mi))}:00`;
  const month = pad2(numeric(line, MONTH, mo));
  const dom = pad2(numeric(line, DOM, dm));
  const days = weekdays(line, dw);
  const domStar = dm.startsWith('*');
  const dowStar = dw.startsWith('*');
  const at = (dow: string | null, day: string) => `${dow ? `${dow} ` : ''}*-${month}-${day} ${time}`;
  // Either starts with '*': both must match (a '*' matches every day).
  if (domStar || dowStar) return [at(dw === '*' ? null : days, dom)];
  return [at(null, dom), at(days, '*')];
}

// What OnCalendar= gets for a spec: a calendar expression as given, a cron line translated.
export function calendarOf(spec: string): string[] {
  return specKind(spec) === 'cron' ? cronToCalendar(spec) : [spec.trim()];
}

// systemd's calendar words and the cron line each means (systemd.time(7): weekly is Monday).
const CALENDAR_WORDS: Record<string, string> = {
  minutely: '* * * * *',
  hourly: '0 * * * *',
  daily: '0 0 * * *',
  weekly: '0 0 * * 1',
  monthly: '0 0 1 * *',
  yearly: '0 0 1 1 *',
  annually: '0 0 1 1 *',
};
const CRON_DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

// One calendar field as a cron field: * , a..b and steps (a/n is a-MAX/n in cron); null when
// it holds anything else.
function cronField(text: string, max: number): string | null {
  const parts = text.split(',').map((part) => {
    const m = /^(\*|\d+)(?:\.\.(\d+))?(?:\/(\d+))?$/.exec(part);
    if (!m) return null;
    const [, a, b, step] = m;
    const from = a === '*' ? '*' : String(Number(a));
    const range = b !== undefined ? `${from}-${Number(b)}` : step !== undefined && a !== '*' ? `${from}-${max}` : from;
    return step === undefined ? range : `${range}/${Number(step)}`;
  });
  return parts.includes(null) ? null : parts.join(',');
}

function cronDays(text: string): string | null {
  const parts = text.split(',').map((part) => {
    const ends = part.toLowerCase().split('..').map((d) => CRON_DAYS.indexOf(d.slice(0, 3)));
    return ends.length > 2 || ends.includes(-1) ? null : ends.join('-');
  });
  return parts.includes(null) ? null : parts.join(',');
}

// A schedule's spec as one five-field cron line (what Kubernetes CronJobs, Knative PingSources
// and OpenFaaS's cron-connector take), or null where cron cannot say it: a cron line is used as
// written (macros expanded); a systemd calendar expression of the plain shapes ([DAYS] [*-]M-D
// HH:MM[:00], or a word such as daily) is translated; seconds, years, and a day of month together
// with days of the week (systemd ANDs them, cron ORs them) are not.
export function cronOf(spec: string): string | null {
  const s = spec.trim();
  if (specKind(s) === 'cron') return s.startsWith('@') ? (MACROS[s.toLowerCase()] ?? null) : s.split(/\s+/).join(' ');
  if (CALENDAR_WORDS[s.toLowerCase()]) return CALENDAR_WORDS[s.toLowerCase()];
  const tokens = s.split(/\s+/);
  const days = /^[A-Za-z]/.test(tokens[0]) ? cronDays(tokens.shift() as string) : '*';
  if (days === null || tokens.length < 1 || tokens.length > 2) return null;
  const date = tokens.length === 2 ? tokens[0].split('-') : ['*', '*', '*'];
  const time = tokens[tokens.length - 1].split(':');
  if (date.length === 3 && date.shift() !== '*') return null; // a year
  if (date.length !== 2 || time.length < 2 || time.length > 3 || (time.length === 3 && !/^0?0$/.test(time[2]))) return null;
  const fields = [cronField(time[1], 59), cronField(time[0], 23), cronField(date[1], 31), cronField(date[0], 12)];
  if (fields.includes(null) || (fields[2] !== '*' && days !== '*')) return null;
  return [...fields, days].join(' ');
}
