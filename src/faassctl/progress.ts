// Build progress for faassctl: on a terminal, each step on its own line and the step's output
// on one status line rewritten in place (the last line, cut to the terminal's width); otherwise
// every line as it comes, so logs and pipes get the whole build.
import type { BuildEvent } from '../docker/image-build';

export interface ProgressOut {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class BuildProgress {
  private status = false; // a status line is on screen
  private readonly started = Date.now();
  private stepStarted = Date.now();

  constructor(private readonly out: ProgressOut) {}

  private clearStatus(): void {
    if (this.status) this.out.write('\r\x1b[K');
    this.status = false;
  }

  readonly event = (e: BuildEvent): void => {
    if (!this.out.isTTY) {
      this.out.write(e.kind === 'step' ? `${e.text}\n` : `  ${e.text}\n`);
      return;
    }
    if (e.kind === 'step') {
      this.clearStatus();
      this.out.write(`${e.text}\n`);
      this.stepStarted = Date.now();
      return;
    }
    const secs = ((Date.now() - this.stepStarted) / 1000).toFixed(1);
    const width = Math.max(20, (this.out.columns || 80) - 1); // a pty may say 0
    const line = `  [${secs}s] ${e.text.replace(/[\x00-\x1f\x7f]/g, ' ')}`;
    this.out.write(`\r\x1b[K${line.length > width ? line.slice(0, width - 1) + '…' : line}`);
    this.status = true;
  };

  // After the build (or its failure): the status line goes, the total time stays.
  done(ok: boolean): void {
    this.clearStatus();
    if (ok) this.out.write(`Built in ${((Date.now() - this.started) / 1000).toFixed(1)}s\n`);
  }
}

// Runs f with a progress display (or none), closing the display with f's outcome.
export async function withProgress<T>(progress: BuildProgress | null, f: () => Promise<T>): Promise<T> {
  try {
    const r = await f();
    progress?.done(true);
    return r;
  } catch (e) {
    progress?.done(false);
    throw e;
  }
}
