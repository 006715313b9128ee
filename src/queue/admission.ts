// queue_max, held under racing enqueues without counting the queue for every call. The process
// that enqueues (the gateway) keeps for each queue an upper bound of its length: the count it
// last read from the directory plus the calls it admitted since. Only the dispatcher takes calls
// out, so the bound can only be high, never low: a call is admitted at once while the bound is
// under queue_max (no readdir: enqueue stays O(1) however long the queue), and admission and its
// increment happen in one turn of the event loop, so racing enqueues cannot both pass the last
// place. The directory is read again only when the bound says full: after this process's writes
// under way have ended, with admissions held meanwhile, so the count is exact and the calls the
// dispatcher took out meanwhile make room. Calls refused at once share one count. Not counted
// until that next count: calls put back by another process (a redrive from faassctl or the API).
interface Tally {
  bound: number | null; // null: never counted
  writing: number; // admitted, not yet on disk (or given up)
  quiet: (() => void)[]; // waiting for writing to reach 0
  counting: Promise<void> | null;
}

const tallies = new Map<string, Tally>();

function tallyOf(queue: string): Tally {
  let t = tallies.get(queue);
  if (!t) tallies.set(queue, (t = { bound: null, writing: 0, quiet: [], counting: null }));
  return t;
}

async function recount(t: Tally, count: () => Promise<number>): Promise<void> {
  if (t.writing > 0) await new Promise<void>((resolve) => t.quiet.push(resolve));
  t.bound = await count();
}

// Admits one call into queue (its directory) of at most max calls, or returns null (full). The
// caller writes the call, then calls the function returned with whether it is on disk.
export async function admit(queue: string, max: number, count: () => Promise<number>): Promise<((queued: boolean) => void) | null> {
  const t = tallyOf(queue);
  let counted = false; // a count that ended after this call came: fresh enough to refuse by
  for (;;) {
    if (t.counting) {
      await t.counting.catch(() => undefined);
      counted = t.bound !== null;
      continue;
    }
    if (t.bound !== null && t.bound < max) return admitted(t);
    if (counted) return null;
    t.counting = recount(t, count).finally(() => (t.counting = null));
    await t.counting; // a count that fails (EACCES) fails this call, as reading the queue did
    counted = true;
  }
}

function admitted(t: Tally): (queued: boolean) => void {
  (t.bound as number)++;
  t.writing++;
  let once = false;
  return (queued) => {
    if (once) return;
    once = true;
    if (!queued) (t.bound as number)--;
    if (--t.writing === 0) for (const wake of t.quiet.splice(0)) wake();
  };
}
