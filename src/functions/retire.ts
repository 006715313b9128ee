// A function's removal but for its units: its socket and services stopped, its containers and
// images, file, triggers and code removed. The caller then applies the units (deleteFunction,
// a stack's up or down, stack-intent.ts's recovery of one) and resets the failed ones.
import * as fs from 'node:fs';
import { Paths, functionConfPath } from '../core/paths';
import { loadFunctionConfig, FunctionConfig } from './function-config';
import { loadDockerSettings } from '../core/settings';
import { functionUnitBase } from '../systemd/units';
import { managerReachable, systemctl } from '../systemd/systemctl';
import { pruneImages } from '../docker/image-build';
import { configuredEngine, removeFunctionContainers } from '../docker/engine';
import { installId } from '../docker/names';
import { removeAllCode } from './code-versions';
import { schedulesPath } from './schedules';
import { removeNatsSecrets } from './nats-auth';
import { topicsPath } from './topics';
import { removeCanaryFiles } from './canary-files';

// Returns what could not be cleaned up (carried on past).
export async function retireFunction(paths: Paths, name: string): Promise<string[]> {
  const base = functionUnitBase(name);
  let cfg: FunctionConfig | null = null;
  try {
    cfg = loadFunctionConfig(paths, name);
  } catch {
    // an invalid file is deleted all the same
  }
  if (await managerReachable()) {
    await systemctl('disable', '--now', `${base}.socket`).catch(() => undefined);
    await systemctl('stop', `${base}.service`).catch(() => undefined);
    if (cfg?.kind === 'service') await systemctl('stop', `${base}-app.service`).catch(() => undefined);
  }
  const warnings: string[] = [];
  if (cfg?.runtime === 'docker') {
    const removal = await removeFunctionContainers(configuredEngine(paths).docker, installId(paths.configDir), name).catch((e: Error) => ({ found: 0, failed: [e.message] }));
    for (const f of removal.failed) warnings.push(`Failed to remove a container of ${name} (${f})`);
  }
  if (cfg?.build !== undefined) await pruneImages(loadDockerSettings(paths).socketPath, name, []).catch((e: Error) => warnings.push(`Failed to prune the images of ${name} (${e.message})`));
  fs.rmSync(functionConfPath(paths, name), { force: true });
  fs.rmSync(schedulesPath(paths, name), { force: true }); // its timers go with the units
  fs.rmSync(topicsPath(paths, name), { force: true }); // no more messages for it
  removeNatsSecrets(paths, name); // its NATS bridges' secrets: their units go too
  removeCanaryFiles(paths, name); // its canary: its units go too (apply-units.ts retireCanaries)
  removeAllCode(paths, name);
  return warnings;
}

// Once its units are gone: nothing of it left failed in the manager.
export async function resetRetired(name: string): Promise<void> {
  const base = functionUnitBase(name);
  if (await managerReachable()) await systemctl('reset-failed', `${base}.service`, `${base}.socket`).catch(() => undefined);
}
