import * as fs from 'node:fs';
import { run } from '../lib/systemctl';
import { Paths } from '../lib/paths';
import { loadDockerConfig } from '../lib/gateway-config';
import { loadAllFunctions } from '../lib/deploy';

interface Proc {
  pid: number;
  unit: string;
  command: string;
}

// The faass unit a process runs in, from its /proc/PID/cgroup (the systemd hierarchy on cgroup
// v1, the unified one on v2), counting only units of the user manager whose control group is
// `manager` (another user's faass, or another manager's, is not ours to list).
export function faassUnitOf(cgroupFile: string, manager: string): string | null {
  for (const line of cgroupFile.split('\n')) {
    const [, controllers, cgPath] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (cgPath === undefined || (controllers !== 'name=systemd' && controllers !== '')) continue;
    if (!cgPath.startsWith(manager + '/')) continue;
    const m = /\/(faass-[a-z0-9-]+\.service)(?:\/|$)/.exec(cgPath.slice(manager.length));
    if (m) return m[1];
  }
  return null;
}

export function faassProcesses(manager: string): Proc[] {
  const out: Proc[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const unit = faassUnitOf(fs.readFileSync(`/proc/${entry}/cgroup`, 'utf8'), manager);
      if (!unit) continue;
      const command = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      out.push({ pid: Number(entry), unit, command });
    } catch {
      // the process ended while we looked
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

// Containers of docker functions and services, by their faass.function label.
async function containers(paths: Paths): Promise<string> {
  if (!loadAllFunctions(paths).some((f) => f.runtime === 'docker')) return '';
  const { default: Docker } = await import('dockerode');
  const socketPath = loadDockerConfig(paths).socketPath;
  try {
    const list = await new Docker({ socketPath }).listContainers({ all: true, filters: { label: ['faass.function'] } });
    const rows = list.map((c) => `  ${(c.Labels['faass.function'] ?? '').padEnd(20)}  ${c.Names[0]?.replace(/^\//, '').padEnd(24)}  ${c.State.padEnd(8)}  ${c.Status}`);
    return `Containers (${socketPath}): ${list.length}\n${rows.join('\n')}${rows.length ? '\n' : ''}`;
  } catch (e) {
    return `Containers: the Docker engine at ${socketPath} does not answer (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})\n`;
  }
}

export async function status(paths: Paths): Promise<number> {
  const units = await run('systemctl', ['--user', 'list-units', '--all', '--no-pager', '--plain', 'faass-*']);
  if (units.code !== 0) {
    process.stderr.write(`faassctl: no systemd user manager is reachable (${units.stderr.trim().split('\n')[0]}); without one, use faassctl serve\n`);
    return 6;
  }
  process.stdout.write('Units:\n' + units.stdout.replace(/\n\s*\n[\s\S]*$/, '\n') + '\n');
  const sockets = await run('systemctl', ['--user', 'list-sockets', '--all', '--no-pager', 'faass-*']);
  process.stdout.write('Sockets:\n' + sockets.stdout.replace(/\n\s*\n[\s\S]*$/, '\n') + '\n');
  const manager = (await run('systemctl', ['--user', 'show', '--property=ControlGroup', '--value'])).stdout.trim();
  const procs = manager ? faassProcesses(manager) : [];
  process.stdout.write(`Running faass processes: ${procs.length}\n`);
  for (const p of procs) process.stdout.write(`  ${String(p.pid).padStart(7)}  ${p.unit.padEnd(32)}  ${p.command.slice(0, 100)}\n`);
  process.stdout.write(await containers(paths));
  return /\bfailed\b/.test(units.stdout) ? 1 : 0;
}
