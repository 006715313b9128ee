// What tells serve that the shared state changed: fs.watch on the directories that hold it, each
// event (of any number in a burst) followed by one re-scan after DEBOUNCE_MS, and a re-scan every
// RESCAN_MS whatever the events said (they are lossy: a directory made after the watch began, a
// rename over a watched file, an overflowed queue).
import * as fs from 'node:fs';

export const DEBOUNCE_MS = 150;
export const RESCAN_MS = 2000;

export class Watcher {
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private debounce: NodeJS.Timeout | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly dirs: () => string[],
    private readonly rescan: () => void,
  ) {
    this.timer = setInterval(() => this.fire(), RESCAN_MS);
    this.arm();
  }

  // Watches the directories not watched yet (made since, or named since: a TLS key's), drops the gone.
  arm(): void {
    const wanted = new Set(this.dirs());
    for (const [dir, w] of this.watchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = fs.watch(dir, { persistent: false }, () => this.soon());
        w.on('error', () => {
          w.close();
          this.watchers.delete(dir); // re-armed by the next re-scan, if it is back
        });
        this.watchers.set(dir, w);
      } catch {
        // not there (yet): the periodic re-scan covers it
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private soon(): void {
    if (this.debounce) return;
    this.debounce = setTimeout(() => this.fire(), DEBOUNCE_MS);
  }

  private fire(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = null;
    this.arm();
    this.rescan();
  }
}
