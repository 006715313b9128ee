import * as fs from 'node:fs';
import { run } from '../lib/systemctl';

interface Proc {
  pid: number;
  unit: string;
  command: string;
}

// Processes whose cgroup is a faass unit (systemd hierarchy on cgroup v1, the unified one on v2).
export function faassProcesses(): Proc[] {
  const out: Proc[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cg = fs.readFileSync(`/proc/${entry}/cgroup`, 'utf8');
      const m = /\/(faass-[a-z0-9-]+\.service)(?:\/|$)/m.exec(cg);
      if (!m) continue;
      const command = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      out.push({ pid: Number(entry), unit: m[1], command });
    } catch {
      // the process ended while we looked
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

export async function status(): Promise<number> {
  const units = await run('systemctl', ['--user', 'list-units', '--all', '--no-pager', '--plain', 'faass-*']);
  if (units.code !== 0) {
    process.stderr.write(`faassctl: no systemd user manager is reachable (${units.stderr.trim().split('\n')[0]}); without one, use faassctl serve\n`);
    return 6;
  }
  process.stdout.write('Units:\n' + units.stdout.replace(/\n\s*\n[\s\S]*$/, '\n') + '\n');
  const sockets = await run('systemctl', ['--user', 'list-sockets', '--all', '--no-pager', 'faass-*']);
  process.stdout.write('Sockets:\n' + sockets.stdout.replace(/\n\s*\n[\s\S]*$/, '\n') + '\n');
  const procs = faassProcesses();
  process.stdout.write(`Running faass processes: ${procs.length}\n`);
  for (const p of procs) process.stdout.write(`  ${String(p.pid).padStart(7)}  ${p.unit.padEnd(32)}  ${p.command.slice(0, 100)}\n`);
  return /\bfailed\b/.test(units.stdout) ? 1 : 0;
}
