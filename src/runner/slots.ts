// At most `size` holders at once; the others wait their turn, in order, each no longer than it
// may (a call's timeout counts from its arrival, waiting included). What a container function's
// calls take before they get a container (docker-executor.ts): its limits are shared among
// `workers` containers, so no more may run.
export class Slots {
  private used = 0;
  private readonly waiting: { grant: (release: () => void) => void; fail: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  private closed: Error | null = null;

  constructor(readonly size: number) {}

  get inUse(): number {
    return this.used;
  }

  get queued(): number {
    return this.waiting.length;
  }

  // Resolves with the slot's release (call it once) when one is free; rejects with timedOut()
  // when waitMs passes first, and with the close's error once closed.
  acquire(waitMs: number, timedOut: () => Error): Promise<() => void> {
    if (this.closed) return Promise.reject(this.closed);
    if (this.used < this.size) return Promise.resolve(this.take());
    return new Promise((resolve, reject) => {
      const entry = {
        grant: resolve,
        fail: reject,
        timer: setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(entry), 1);
          reject(timedOut());
        }, waitMs),
      };
      this.waiting.push(entry);
    });
  }

  // Fails every waiter, and every acquire from now on, with `why`.
  close(why: Error): void {
    this.closed = why;
    for (const w of this.waiting.splice(0)) {
      clearTimeout(w.timer);
      w.fail(why);
    }
  }

  private take(): () => void {
    this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used--;
      const next = this.waiting.shift();
      if (next) {
        clearTimeout(next.timer);
        next.grant(this.take());
      }
    };
  }
}
