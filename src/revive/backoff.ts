// How long faass-revive waits before it starts a failed socket again (pure: the record in, the
// wait out). A crash loop fails its socket again within seconds of each revive: the wait doubles
// with every revive in a row, so a loop that never ends costs one burst of failing starts per
// minute at most, while the first revive comes after a few seconds. A socket that stayed up for
// FORGET_SECONDS since its last revive starts over from the first wait.
export const FIRST_WAIT_SECONDS = 3;
export const MAX_WAIT_SECONDS = 60;
export const FORGET_SECONDS = 300;

export interface ReviveRecord {
  readonly streak: number; // revives in a row
  readonly at: number; // when the last one started the socket (ms since the epoch)
}

export function nextRevive(last: ReviveRecord | null, now: number): { waitSeconds: number; streak: number } {
  const streak = last && now - last.at < FORGET_SECONDS * 1000 ? last.streak : 0;
  return { waitSeconds: Math.min(FIRST_WAIT_SECONDS * 2 ** streak, MAX_WAIT_SECONDS), streak: streak + 1 };
}

// The record as stored; anything unreadable counts as no record (the first wait).
export function parseRecord(text: string | null): ReviveRecord | null {
  if (text === null) return null;
  try {
    const r = JSON.parse(text) as Partial<ReviveRecord>;
    return Number.isInteger(r.streak) && (r.streak as number) >= 0 && Number.isFinite(r.at) ? { streak: r.streak as number, at: r.at as number } : null;
  } catch {
    return null;
  }
}

// The units faass-revive may act on: faass's own sockets, named as the template's instance.
export const isFaassSocket = (unit: string): boolean => /^faass-[a-z0-9-]+\.socket$/.test(unit);
