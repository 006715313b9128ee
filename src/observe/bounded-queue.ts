// The lines waiting for journald while it does not take them: bounded in entries and in bytes,
// so a stalled journald costs a fixed amount of memory; what does not fit is dropped and
// counted (issue 11, item 4), and the count is said once journald takes lines again.
export class BoundedQueue {
  private items: Buffer[] = [];
  private size = 0;
  private droppedSince = 0;
  private droppedEver = 0;

  constructor(
    readonly maxEntries: number,
    readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.items.length;
  }

  get bytes(): number {
    return this.size;
  }

  // Total dropped by this process (for /metrics); never goes down.
  get droppedTotal(): number {
    return this.droppedEver;
  }

  // False (and counted) when the entry does not fit.
  push(entry: Buffer): boolean {
    if (this.items.length >= this.maxEntries || this.size + entry.length > this.maxBytes) {
      this.drop();
      return false;
    }
    this.items.push(entry);
    this.size += entry.length;
    return true;
  }

  peek(): Buffer | undefined {
    return this.items[0];
  }

  shift(): Buffer | undefined {
    const entry = this.items.shift();
    if (entry) this.size -= entry.length;
    return entry;
  }

  // An entry lost for another reason (journald refused it): counted with the others.
  drop(n = 1): void {
    this.droppedSince += n;
    this.droppedEver += n;
  }

  get droppedSinceTaken(): number {
    return this.droppedSince;
  }

  // How many were dropped since the last call, and start counting again.
  takeDropped(): number {
    const n = this.droppedSince;
    this.droppedSince = 0;
    return n;
  }
}
