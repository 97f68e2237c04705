// Scratch folders for a test file: made under the system's temporary folder and removed when the test
// process exits, pass or fail (what they hold is input, not a diagnosis; the daemons' logs are kept on
// failure by daemon-process.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/** A fresh folder named `<prefix>-XXXXXX`, removed when this process exits. */
export function scratchDir(prefix: string): string {
  if (made.length === 0) process.once('exit', () => { for (const dir of made) rmSync(dir, { recursive: true, force: true }); });
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  made.push(dir);
  return dir;
}
