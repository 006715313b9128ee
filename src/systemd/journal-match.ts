// Which journal lines are a function's (or the gateway's, or the API's), as journalctl(1)
// matches. Any process can send journald's native protocol every field it likes (FAASS_FUNCTION=,
// FAASS_CALL_ID=, USER_UNIT=, SYSLOG_IDENTIFIER=) but none starting with "_": those journald
// sets itself from the sender's credentials and cgroup. So a line is selected by its trusted
// unit (_SYSTEMD_USER_UNIT=) and uid (_UID=), and a field a sender sets is believed only from
// a unit that has the right to say it: a function's own units about that function, the gateway
// and the API about any. A line whose sender journald could not place (it exited before
// journald looked) has no trusted unit and is shown nowhere.
import { canaryUnitBase, functionUnitBase, scheduleUnitBase } from './units';

export const GATEWAY_UNIT = 'faass-gateway.service';
export const API_UNIT = 'faass-api.service';
export const DISPATCH_UNIT = 'faass-dispatch.service';
// Where a user manager logs from (user@UID.service/init.scope): its lines about a unit carry
// USER_UNIT=, which only there is the manager's word.
const MANAGER_UNIT = 'init.scope';

// The names `faassctl logs` takes besides functions'.
const OWN_UNITS = new Map([
  ['gateway', GATEWAY_UNIT],
  ['api', API_UNIT],
  ['dispatch', DISPATCH_UNIT],
]);

type Term = [field: string, values: string[]][];

// One conjunction: journalctl ORs the values of one field and ANDs the fields.
const conjunction = (term: Term): string[] => term.flatMap(([field, values]) => values.map((v) => `${field}=${v}`));

// The units a function has besides its runner and canary, as deployed (functions/log-match.ts
// reads them): its app if it is a service; the ids of its triggers, whose services queue its
// calls. Only those: `faass-fn-NAME-app` and `faass-fn-NAME-at-ID` may be another function's
// runner (a function named NAME-app or NAME-at-ID), whose lines are not NAME's.
export interface FunctionUnits {
  service: boolean;
  triggers: string[];
}

// journalctl's arguments that select NAME's lines (a function's, or "gateway"/"api"), those of
// one call with `call`, for the user `uid` (the one whose manager runs faass).
export function journalMatch(name: string, uid: number, call?: string, units: FunctionUnits = { service: false, triggers: [] }): string[] {
  const faassUnit = OWN_UNITS.get(name);
  const base = functionUnitBase(name);
  // A canary's runner (units.ts canaryUnitBase) serves the function's calls too.
  const ownUnits = faassUnit ? [faassUnit] : [`${base}.service`, `${canaryUnitBase(name)}.service`, ...(units.service ? [`${base}-app.service`] : []), ...units.triggers.map((id) => `${scheduleUnitBase(name, id)}.service`)];
  const byUid: Term = [['_UID', [String(uid)]]];
  const ofCall: Term = call === undefined ? [] : [['FAASS_CALL_ID', [call]]];
  const terms: Term[] = [[['_SYSTEMD_USER_UNIT', ownUnits], ...ofCall, ...byUid]];
  // The gateway logs a service's calls, each with FAASS_FUNCTION= of that service; the
  // dispatcher each attempt of an asynchronous call.
  if (!faassUnit) terms.push([['_SYSTEMD_USER_UNIT', [GATEWAY_UNIT, API_UNIT, DISPATCH_UNIT]], ['FAASS_FUNCTION', [name]], ...ofCall, ...byUid]);
  // The manager's lines (started, failed, ...) are about a unit, never about a call.
  if (call === undefined) terms.push([['_SYSTEMD_USER_UNIT', [MANAGER_UNIT]], ['USER_UNIT', ownUnits], ...byUid]);
  return terms.flatMap((term, i) => (i === 0 ? conjunction(term) : ['+', ...conjunction(term)]));
}

export const isFaassLogName = (name: string): boolean => OWN_UNITS.has(name);
