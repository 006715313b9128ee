// What a change to the files and units did, said once the same way by every command.
import { ApplyReport } from '../functions/deploy';

export function sayApplied(report: ApplyReport, what: string): void {
  const u = report.units;
  process.stdout.write(`${what}; units: ${u.written.length} written, ${u.removed.length} removed, ${u.unchanged.length} unchanged\n`);
  if (report.systemd === 'unreachable') process.stderr.write('faassctl: no systemd user manager is reachable: units written but not loaded; run faassctl serve instead, or start one (systemctl --user)\n');
}

// What the change asked for that will not happen (an unenforced limit): a line each on stderr.
export function sayWarnings(warnings: readonly string[] | undefined): void {
  for (const w of warnings ?? []) process.stderr.write(`faassctl: warning: ${w}\n`);
}
