// A canary's files (paths.ts): its version's function file (canary/NAME.conf, read by its runner),
// its route (canary/NAME.json, read by the gateway) and what the gateway saw (state
// canary/NAME.json). The route is written last and removed first: the gateway sends calls to a
// canary only while its units are there. Read here for the units (apply-units.ts), pruning
// (versions.ts) and the commands (canary.ts).
import * as fs from 'node:fs';
import { Paths, canaryConfPath, canaryRoutePath, canaryStatePath } from '../core/paths';
import { readIfExists } from '../core/fs-atomic';
import { FunctionConfig, parseFunctionConfig } from './function-config';
import { fail } from '../core/errors';
import { CanaryRoute, CanaryState, parseCanaryRoute, parseCanaryState, sameCanary } from './canary-spec';

export function readCanaryRoute(paths: Paths, name: string): CanaryRoute | null {
  const text = readIfExists(canaryRoutePath(paths, name));
  if (text === null) return null;
  try {
    return parseCanaryRoute(text);
  } catch {
    return null; // the gateway routes nothing to it either; abort removes it
  }
}

// The canary version's settings, or null (none, or a file that does not parse: no units for it).
export function readCanaryConfig(paths: Paths, name: string): FunctionConfig | null {
  const text = readIfExists(canaryConfPath(paths, name));
  if (text === null) return null;
  try {
    return parseFunctionConfig(name, text);
  } catch {
    return null;
  }
}

// The version a canary runs, whose record and code pruning keeps (versions.ts).
export const canaryVersionOf = (paths: Paths, name: string): number | null => readCanaryConfig(paths, name)?.version?.number ?? null;

export function readCanaryState(paths: Paths, name: string): CanaryState | null {
  try {
    return parseCanaryState(readIfExists(canaryStatePath(paths, name)));
  } catch {
    return null;
  }
}

// The gateway's abort of this canary, if it made one (the state file names the same canary).
export function abortedBy(state: CanaryState | null, route: CanaryRoute | null): CanaryState['aborted'] | null {
  return state?.aborted && route && sameCanary(state, route) ? state.aborted : null;
}

export const hasCanaryFiles = (paths: Paths, name: string): boolean => [canaryConfPath, canaryRoutePath].some((p) => fs.existsSync(p(paths, name)));

// The route first: from then on no call goes to the canary; then what its units read.
export function removeCanaryFiles(paths: Paths, name: string): void {
  for (const p of [canaryRoutePath, canaryConfPath, canaryStatePath]) fs.rmSync(p(paths, name), { force: true });
}

// A deploy that would make a new version current while a canary runs is refused: the canary was
// judged against the version it runs beside, and promoting it would undo the deploy. One the
// gateway aborted is no longer running (the deploy's units step removes it).
export function refuseUnderCanary(paths: Paths, name: string): void {
  const route = readCanaryRoute(paths, name);
  if (!route || abortedBy(readCanaryState(paths, name), route)) return;
  fail('FAASS_E_CANARY_EXISTS', `${name} has a canary (version ${route.version} at ${route.percent}%), and promoting it would undo this deploy: promote it (faassctl promote ${name}) or abort it (faassctl abort ${name}) first; nothing was deployed`);
}

// What list and describe (and the API's function views) say of a function's canary: its version
// and share, and whether the gateway aborted it; null when it has none (or only what a killed
// canary deploy left: no route, so no call goes to it).
export interface CanarySummary {
  version: number;
  percent: number;
  state: 'running' | 'aborted';
}

export function canarySummary(paths: Paths, name: string): CanarySummary | null {
  const route = readCanaryRoute(paths, name);
  if (!route) return null;
  return { version: route.version, percent: route.percent, state: abortedBy(readCanaryState(paths, name), route) ? 'aborted' : 'running' };
}

// In a line: "canary version 4 at 20%" (", aborted by the gateway").
export const describeSummary = (c: CanarySummary): string => `canary version ${c.version} at ${c.percent}%${c.state === 'aborted' ? ', aborted by the gateway' : ''}`;
