// node:test global setup: one testbed for the whole integration run, shared with every test file
// through the PULLSECRET_SYNC_TESTBED environment variable. With that variable already set (a bed from
// `npm run testbed -- up`), the run reuses it and leaves it running.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning, readState, startTestbed, stopTestbed, STATE_ENV, type TestbedState } from './testbed.ts';

let owned: TestbedState | undefined;

export async function globalSetup(): Promise<void> {
  // Test files inherit this environment: the AWS SDK must never probe the instance metadata address.
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const existing = process.env[STATE_ENV] ? readState(process.env[STATE_ENV]) : undefined;
  if (existing && isRunning(existing)) return;
  const dir = mkdtempSync(join(tmpdir(), 'pullsecret-sync-testbed-'));
  owned = await startTestbed({ dir, registry: true, moto: true, log: (l) => { console.error(`[testbed] ${l}`); } });
  process.env[STATE_ENV] = owned.dir;
}

export async function globalTeardown(): Promise<void> {
  if (!owned) return;
  // A fault test may have restarted a process (faults.ts): the state file holds its current pid.
  await stopTestbed(readState(owned.dir) ?? owned);
  rmSync(owned.dir, { recursive: true, force: true });
}
