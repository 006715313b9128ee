// A file a command is told to read whole (a stack file, its environment_file): a regular file
// only, and at most `max` bytes. Opened with O_NONBLOCK (a FIFO with no writer would hang the
// open) and judged by fstat of what was opened (no race with a rename): /dev/zero, a FIFO or a
// directory is refused before a byte is read, and a file over the bound is refused, never read
// into memory (read up to max + 1 bytes: one that grew since the fstat is caught too).
import * as fs from 'node:fs';
import { fail } from './errors';

export const STACK_FILE_MAX = 1024 * 1024;

function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

// what: how the error names the file ("stack file"); errors are FaassErrors, one line each.
export function readRegularFile(file: string, max: number, what: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    return fail('FAASS_E_FILE_MISSING', `Cannot read ${what} ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) fail('FAASS_E_CONFIG_INVALID', `${what} ${file} is ${kindOf(st)}: give a regular file`);
    const over = () => fail('FAASS_E_CONFIG_INVALID', `${what} ${file} is over ${max / 1024 / 1024} MiB, the most faass reads`);
    if (st.size > max) over();
    const buf = Buffer.alloc(max + 1);
    let got = 0;
    for (let n = -1; n !== 0 && got <= max; got += n) n = fs.readSync(fd, buf, got, buf.length - got, null);
    if (got > max) over();
    return buf.subarray(0, got).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}
