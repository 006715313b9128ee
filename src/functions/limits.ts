// A function's resource limits, the cgroup controller each needs, and what to say when the user
// manager lacks it: systemd writes the setting and ignores it, so without a word a user would
// believe `--memory-max 256M` holds on a host where nothing enforces it.
import { FunctionConfig } from './function-config';
import { DEFAULT_TASKS_MAX } from '../systemd/units';
import { Controller } from '../systemd/controllers';

const LIMITS: { key: string; controller: Controller; value: (cfg: FunctionConfig) => string | number | undefined }[] = [
  { key: 'memory_max', controller: 'memory', value: (cfg) => cfg.memoryMax },
  { key: 'tasks_max', controller: 'pids', value: (cfg) => cfg.tasksMax },
  { key: 'cpu_quota', controller: 'cpu', value: (cfg) => cfg.cpuQuota },
];

// One line per limit the function sets that this host cannot enforce; none when the controllers
// are unknown (no user manager answers: nothing runs the units anyway), and none for docker,
// whose containers get the limits from the engine, in the engine's cgroups (what a rootless
// engine can enforce is the engine's to say: docker info warns of it).
export function unenforcedLimits(cfg: FunctionConfig, controllers: ReadonlySet<Controller> | null): string[] {
  if (!controllers || cfg.runtime === 'docker') return [];
  return LIMITS.filter((l) => l.value(cfg) !== undefined && !controllers.has(l.controller)).map(
    (l) => `${l.key}=${l.value(cfg)} of ${cfg.name} is not enforced on this host: the systemd user manager has no ${l.controller} controller (cgroup v1 or hybrid, or ${l.controller} not delegated to user@.service)`,
  );
}

// The default TasksMax= goes unenforced without the pids controller too: said once, not per function.
export function unenforcedDefaults(controllers: ReadonlySet<Controller> | null): string[] {
  if (!controllers || controllers.has('pids')) return [];
  return [`the default tasks_max=${DEFAULT_TASKS_MAX} is not enforced on this host: the systemd user manager has no pids controller`];
}
