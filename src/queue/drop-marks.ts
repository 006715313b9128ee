// The dispatcher's side of a file drop (drop-fire.ts): when the call queued for a claimed file
// is settled (done, or dead), a mark queue/NAME/drops/ID/settled/ENTRY holding "done" or
// "failed" is written durably, before the call's own done record or burial (as a callback is:
// a dispatcher killed after the record would never write it). The drop's path unit watches that
// directory; its service moves the file to done/ or failed/ and removes the mark.
import * as path from 'node:path';
import { Paths, dropStateDir } from '../core/paths';
import { DropOrigin, writeDurably } from './spool';

export type Settled = 'done' | 'failed';
export const settledDir = (p: Paths, name: string, id: string): string => path.join(dropStateDir(p, name, id), 'settled');

export const markSettled = (p: Paths, name: string, drop: DropOrigin, how: Settled): Promise<void> =>
  writeDurably(path.join(settledDir(p, name, drop.id), drop.entry), Buffer.from(how), { mkdir: true });
