// A background build runs in a session of its own with its autogroup's weight lowered and niced within
// it, and stays reachable by its pid: its exit code comes back and an abort stops it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { buildCommand } from '../../testbed/binaries.ts';
import { eventually } from '../../support/eventually.ts';

const run = promisify(execFile);
const probe = 'printf "%s %s %s\\n" "$(ps -o sid= -p $$)" "$(ps -o ni= -p $$)" "$(cat /proc/self/autogroup 2>/dev/null)"; exit 3';

test('a background build: its own session, nice 19 and, where the kernel has autogroups, its autogroup at 19', async () => {
  const [command, args] = buildCommand({ background: true }, 'sh', ['-c', probe]);
  const err = await run(command, args).then(() => assert.fail('the build\'s exit code is lost'), (e: unknown) => e as { code: number; stdout: string });
  assert.equal(err.code, 3);
  const [sid, nice, ...autogroup] = err.stdout.trim().split(/\s+/);
  assert.notEqual(Number(sid), Number((await run('ps', ['-o', 'sid=', '-p', String(process.pid)])).stdout.trim()), 'a session of its own');
  assert.equal(nice, '19');
  if (existsSync('/proc/self/autogroup')) assert.match(autogroup.join(' '), /nice 19$/);
});

test('an abort stops a background build, whose pid is the command\'s own', async () => {
  const abort = new AbortController();
  const seconds = String(30 + (process.pid % 1000) / 1000); // a sleep no other process runs
  const [command, args] = buildCommand({ background: true, signal: abort.signal }, 'sleep', [seconds]);
  const done = run(command, args, { signal: abort.signal }).then(() => 'finished', (e: unknown) => (e as Error).name);
  const running = () => run('pgrep', ['-f', `^sleep ${seconds}$`]).then(() => true, () => false);
  await eventually(running, { timeoutMs: 5000, intervalMs: 20, message: 'the build runs' });
  abort.abort();
  assert.equal(await done, 'AbortError');
  await eventually(async () => !(await running()), { timeoutMs: 5000, intervalMs: 20, message: 'the aborted build is gone' });
});

test('a foreground build runs as it is', () => {
  assert.deepEqual(buildCommand({}, 'go', ['build']), ['go', ['build']]);
});
