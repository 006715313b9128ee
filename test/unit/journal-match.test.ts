// faassctl logs selects lines by the fields journald sets itself: journal-match.ts's arguments,
// read as journalctl(1) reads them, against lines a user would see and lines a function forged.
import t from 'tap';
import { journalMatch } from '../../src/systemd/journal-match';

type Entry = Record<string, string>;

// journalctl's rule: "+" separates alternatives; within one, values of a field are ORed and
// fields ANDed.
function selects(args: string[], e: Entry): boolean {
  const groups: string[][] = [[]];
  for (const a of args) {
    if (a === '+') groups.push([]);
    else groups[groups.length - 1].push(a);
  }
  return groups.some((g) => {
    const byField = new Map<string, string[]>();
    for (const m of g) {
      const i = m.indexOf('=');
      byField.set(m.slice(0, i), [...(byField.get(m.slice(0, i)) ?? []), m.slice(i + 1)]);
    }
    return [...byField].every(([field, values]) => values.includes(e[field]));
  });
}

const UID = '1000';
const from = (unit: string | undefined, fields: Entry): Entry => ({ _UID: UID, ...(unit ? { _SYSTEMD_USER_UNIT: unit } : {}), ...fields });
const claim = { FAASS_FUNCTION: 'hello', FAASS_CALL_ID: 'c1', SYSLOG_IDENTIFIER: 'faass-fn-hello' };

const lines: { what: string; entry: Entry; hello: boolean; call: boolean; gateway: boolean; api: boolean }[] = [
  { what: "hello's runner: a call line", entry: from('faass-fn-hello.service', claim), hello: true, call: true, gateway: false, api: false },
  { what: "hello's runner: another call's line", entry: from('faass-fn-hello.service', { ...claim, FAASS_CALL_ID: 'c2' }), hello: true, call: false, gateway: false, api: false },
  { what: "hello's app (a service)", entry: from('faass-fn-hello-app.service', { MESSAGE: 'x' }), hello: true, call: false, gateway: false, api: false },
  { what: "hello's canary's runner: a call line", entry: from('faass-canary-hello.service', claim), hello: true, call: true, gateway: false, api: false },
  { what: "the gateway's call line for service hello", entry: from('faass-gateway.service', { FAASS_FUNCTION: 'hello', FAASS_CALL_ID: 'c1' }), hello: true, call: true, gateway: true, api: false },
  { what: "the gateway's own line", entry: from('faass-gateway.service', { SYSLOG_IDENTIFIER: 'faass-gateway' }), hello: false, call: false, gateway: true, api: false },
  { what: "the API's line", entry: from('faass-api.service', { SYSLOG_IDENTIFIER: 'faass-api' }), hello: false, call: false, gateway: false, api: true },
  { what: "the manager about hello's unit", entry: from('init.scope', { USER_UNIT: 'faass-fn-hello.service' }), hello: true, call: false, gateway: false, api: false },
  { what: 'the manager about the gateway', entry: from('init.scope', { USER_UNIT: 'faass-gateway.service' }), hello: false, call: false, gateway: true, api: false },
  { what: 'another function claiming to be hello', entry: from('faass-fn-evil.service', claim), hello: false, call: false, gateway: false, api: false },
  { what: "another function claiming to be the manager about hello's unit", entry: from('faass-fn-evil.service', { ...claim, USER_UNIT: 'faass-fn-hello.service' }), hello: false, call: false, gateway: false, api: false },
  { what: 'another function claiming to be the gateway', entry: from('faass-fn-evil.service', { USER_UNIT: 'faass-gateway.service', SYSLOG_IDENTIFIER: 'faass-gateway', FAASS_FUNCTION: 'gateway' }), hello: false, call: false, gateway: false, api: false },
  { what: 'another function claiming to be the API', entry: from('faass-fn-evil.service', { USER_UNIT: 'faass-api.service', FAASS_FUNCTION: 'api' }), hello: false, call: false, gateway: false, api: false },
  { what: 'a sender journald could not place', entry: from(undefined, claim), hello: false, call: false, gateway: false, api: false },
  { what: "another user's unit of the same name", entry: { ...from('faass-fn-hello.service', claim), _UID: '1001' }, hello: false, call: false, gateway: false, api: false },
];

t.test('each line shows in the logs it belongs to, and only there', async (t) => {
  const match = {
    hello: journalMatch('hello', 1000, undefined, { service: true, triggers: [] }),
    call: journalMatch('hello', 1000, 'c1', { service: true, triggers: [] }),
    gateway: journalMatch('gateway', 1000),
    api: journalMatch('api', 1000),
  };
  for (const l of lines) {
    for (const which of ['hello', 'call', 'gateway', 'api'] as const) {
      t.equal(selects(match[which], l.entry), l[which], `${l.what}: ${l[which] ? 'in' : 'not in'} ${which === 'call' ? 'logs hello --call c1' : `logs ${which}`}`);
    }
  }
});

t.test('no field a sender sets selects a line alone', async (t) => {
  for (const args of [journalMatch('hello', 1000), journalMatch('hello', 1000, 'c1'), journalMatch('gateway', 1000), journalMatch('api', 1000, 'c1')]) {
    const alternatives = args.join(' ').split(' + ');
    for (const a of alternatives) t.match(a, /(^| )_SYSTEMD_USER_UNIT=.* _UID=1000$/, `${a}: a trusted unit and uid`);
  }
});

t.test("a function's lines only: not another's whose name is NAME-app or NAME-at-ID", async (t) => {
  const runnerOf = (fn: string) => from(`faass-fn-${fn}.service`, { MESSAGE: `${fn} runs` });
  const fn = journalMatch('foo', 1000);
  t.notOk(selects(fn, runnerOf('foo-app')), "function foo (not a service): foo-app's runner is not its app");
  t.notOk(selects(fn, runnerOf('foo-at-x')), 'function foo with no trigger x: foo-at-x is not its trigger');
  t.ok(selects(journalMatch('foo', 1000, undefined, { service: true, triggers: [] }), runnerOf('foo-app')), "service foo: its app's unit (a function foo-app beside it collides: not deployable, see DESIGN)");
  t.ok(selects(journalMatch('foo', 1000, undefined, { service: false, triggers: ['x'] }), runnerOf('foo-at-x')), 'foo with trigger x: its unit');
});
