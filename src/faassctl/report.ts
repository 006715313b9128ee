// What a change to the files and units did, said once the same way by every command.
import { ApplyReport, DepsReport } from '../functions/deploy';
import type { Recovered } from '../functions/apply-units';

export function sayApplied(report: ApplyReport, what: string): void {
  const u = report.units;
  process.stdout.write(`${what}; units: ${u.written.length} written, ${u.removed.length} removed, ${u.unchanged.length} unchanged\n`);
  sayRecovered(report.recovered);
  for (const line of report.canariesAborted ?? []) process.stdout.write(`${line}\n`);
  if (report.serve === 'late') process.stderr.write('faassctl: faassctl serve runs but has not taken the change up yet; it will at its next re-scan (its stderr says why if it cannot)\n');
  else if (report.serve) process.stderr.write(`faassctl: no systemd user manager; faassctl serve (pid ${report.serve.pid}) took the change up\n`);
  else if (report.systemd === 'unreachable') process.stderr.write('faassctl: no systemd user manager is reachable: units written but not loaded; run faassctl serve instead, or start one (systemctl --user)\n');
}

// What a command finished or undid first: changes killed half-way (deploy-intent.ts, stacks.ts).
export function sayRecovered(r: Recovered | undefined): void {
  for (const s of r?.stacks ?? []) process.stdout.write(`Finished the interrupted ${s.op} of stack ${s.stack}\n`);
  if (r?.finished.length) process.stdout.write(`Finished the interrupted deploy of ${r.finished.join(', ')}\n`);
  if (r?.undone.length) process.stdout.write(`Undid the interrupted deploy of ${r.undone.join(', ')}\n`);
  for (const f of r?.failed ?? []) process.stderr.write(`faassctl: failed to finish the interrupted deploy of ${f}; the next command that touches units tries again\n`);
}

// What the change asked for that will not happen (an unenforced limit): a line each on stderr.
export function sayWarnings(warnings: readonly string[] | undefined): void {
  for (const w of warnings ?? []) process.stderr.write(`faassctl: warning: ${w}\n`);
}

// What a deploy did about the code's dependencies (functions/deps-install.ts), from the deploy's
// result or the API's answer (its "dependencies"); nothing when there was nothing to install.
export function sayDependencies(d: Pick<DepsReport, 'tool' | 'target' | 'cached' | 'seconds'> | null | undefined): void {
  if (!d) return;
  const how = d.cached ? `reused from the install cache (same ${d.tool === 'npm' ? 'lockfile' : 'requirements.txt'})` : `installed with ${d.tool === 'npm' ? 'npm ci' : 'pip'}`;
  process.stdout.write(`Dependencies: ${d.target} ${how} in ${d.seconds.toFixed(1)}s\n`);
}
