// Scratch folders for a test file: made under the system's temporary folder and removed when the test
// process exits; one asked to be kept on failure stays (its path printed) when the file failed, as the
// daemons' logs do (daemon-process.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: { dir: string; keepOnFailure: boolean }[] = [];

function cleanUp(code: number): void {
  // node:test sets the exit code of a file with a failed test before the process exits.
  const failed = code !== 0 || Boolean(process.exitCode);
  for (const { dir, keepOnFailure } of made) {
    if (failed && keepOnFailure) process.stderr.write(`kept for the failure: ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh folder named `<prefix>-XXXXXX`, removed when this process exits (kept on failure if asked). */
export function scratchDir(prefix: string, opts: { keepOnFailure?: boolean } = {}): string {
  if (made.length === 0) process.once('exit', cleanUp);
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  made.push({ dir, keepOnFailure: opts.keepOnFailure ?? false });
  return dir;
}
