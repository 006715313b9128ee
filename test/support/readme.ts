// README.md's command lines as a user copies them (issue 12): the lines of a section's code
// blocks, one found by its first words, its trailing comment left out, the README's ports
// replaced by a test's. Tests run these, never copies of them, so a README that changes moves
// the test with it, and a README line that is gone fails the test with a message naming it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './root';

export const README = path.join(ROOT, 'README.md');

// The lines of the fenced code blocks under the level-2 heading that starts with `heading`
// (up to the next level-2 heading).
export function codeLines(markdown: string, heading: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`## ${heading}`));
  if (start < 0) throw new Error(`README.md has no section "## ${heading}"`);
  const out: string[] = [];
  let inBlock = false;
  for (const l of lines.slice(start + 1)) {
    if (!inBlock && l.startsWith('## ')) break;
    if (l.startsWith('```')) inBlock = !inBlock;
    else if (inBlock && l.trim()) out.push(l);
  }
  return out;
}

// The line without its trailing `# comment`: a # that starts a word outside quotes, as the shell
// reads it (a # inside quotes or a word, as in a URL's fragment, stays).
export function stripComment(line: string): string {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = '';
      else if (c === '\\' && quote === '"') i++;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '\\') i++;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

// The command of the one line starting with `start` (and holding `having`, where lines share
// their first words); a missing or ambiguous line is an error that names it.
export function findLine(lines: string[], where: string, start: string, having = ''): string {
  const found = lines.filter((l) => l.startsWith(start) && stripComment(l).includes(having));
  const what = `line starting "${start}"${having ? ` with "${having}"` : ''}`;
  if (found.length === 0) throw new Error(`README.md has no ${what} in ${where}: the README changed; update the test or the README`);
  if (found.length > 1) throw new Error(`README.md has ${found.length} lines like its ${what} in ${where}; the test cannot tell which to run`);
  return stripComment(found[0]);
}

// `command` with each README port (a number standing alone: 8080, not 18080) replaced.
export function withPorts(command: string, ports: Record<string, number>): string {
  return Object.entries(ports).reduce((c, [from, to]) => c.replace(new RegExp(`(?<![0-9])${from}(?![0-9])`, 'g'), String(to)), command);
}

// `command` without `part` (a header, an option), which must be there.
export function without(command: string, part: string): string {
  if (!command.includes(part)) throw new Error(`README.md's line "${command}" has no ${part}: the README changed; update the test or the README`);
  return command.replace(part, '').replace(/ {2,}/g, ' ');
}

export function readmeSections(...headings: string[]): { lines: string[]; where: string } {
  const text = fs.readFileSync(README, 'utf8');
  return { lines: headings.flatMap((h) => codeLines(text, h)), where: `its ${headings.map((h) => `"${h}"`).join(' and ')} code blocks` };
}
