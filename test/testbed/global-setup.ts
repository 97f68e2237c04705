// node:test global setup: one testbed for the whole integration run, shared with every test file
// through the PULLSECRET_SYNC_TESTBED environment variable. With that variable already set (a bed from
// `npm run testbed -- up`), the run reuses it and leaves it running.
//
// A run that starts its own bed (`npm test`, CI) also builds, in its background, what later test files
// need and a fresh machine lacks: from the start, helm and the base image stand-ins (and then the
// container image), whose downloads overlap the control plane's Go build; once the bed is up, kubectl and
// the node's binaries (which reuse that build's cache) and IMPS, while the first test files run.
// Background builds run at the lowest CPU priority (raised as soon as a test waits for one), every one is
// cached and locked, so a test that needs one finds it built or waits for it; a background failure is only
// logged (the test's own call then fails with the message). PULLSECRET_SYNC_PREBUILD=0 turns this off.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensurePackages, TESTBED_COMMANDS } from './apt.ts';
import { boostBuilds, ensureHelm, ensureKubectl, ensureNodeBinaries, lowerAutogroup, type BuildOptions } from './binaries.ts';
import { ensureBaseImages } from './base-images.ts';
import { buildImage } from './image.ts';
import { isRunning, readState, startTestbed, stopTestbed, STATE_ENV, type TestbedState } from './testbed.ts';

const repo = resolve(import.meta.dirname, '..', '..');
let owned: TestbedState | undefined;
let prebuild: { abort: AbortController; done: Promise<unknown> } | undefined;

const log = (line: string) => { console.error(`[testbed] ${line}`); };

/** bench/imps/build.sh at the lowest priority, in a process group of its own so an abort stops its go build too. */
function buildImps(signal: AbortSignal): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn('nice', ['-n', '19', join(repo, 'bench/imps/build.sh')], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    // Its own session is its own autogroup, where the nice value alone would not lower it against the tests.
    if (child.pid) lowerAutogroup(child.pid);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
    const stop = () => { if (child.pid) process.kill(-child.pid, 'SIGTERM'); };
    signal.addEventListener('abort', stop, { once: true });
    child.on('error', fail);
    child.on('exit', (code) => {
      signal.removeEventListener('abort', stop);
      if (code === 0) done();
      else fail(new Error(`bench/imps/build.sh exited ${String(code)}: ${stderr.trim()}`));
    });
  });
}

/** Runs `what` in the background; a failure is logged, never thrown (the test that needs it reports it). */
function background(name: string, what: () => Promise<unknown>, signal: AbortSignal): Promise<void> {
  const started = Date.now();
  return what().then(
    () => { log(`background: ${name} ready after ${Math.round((Date.now() - started) / 1000)} s`); },
    (err: unknown) => { if (!signal.aborted) log(`background: ${name} failed (the test that needs it will say why): ${String(err)}`); },
  );
}

export async function globalSetup(): Promise<void> {
  // Test files inherit this environment: the AWS SDK must never probe the instance metadata address.
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const existing = process.env[STATE_ENV] ? readState(process.env[STATE_ENV]) : undefined;
  if (existing && isRunning(existing)) return;
  const abort = new AbortController();
  const opts: BuildOptions = { background: true, signal: abort.signal };
  const prebuilding = process.env.PULLSECRET_SYNC_PREBUILD !== '0';
  // One apt run for every package the run uses, instead of one per component on first use.
  if (prebuilding && process.getuid?.() === 0) ensurePackages([...TESTBED_COMMANDS], log);
  // Where the base images were missing, so are the container image's layers (npm ci, tsc): build it too.
  // Elsewhere the image test's own build is the only one.
  const early = prebuilding ? Promise.all([
    background('base images', async () => {
      if (await ensureBaseImages(log, opts)) await background('container image', () => buildImage(repo, log, opts), abort.signal);
    }, abort.signal),
    background('helm', () => ensureHelm(log, opts), abort.signal),
  ]) : undefined;
  prebuild = early && { abort, done: early };
  const dir = mkdtempSync(join(tmpdir(), 'pullsecret-sync-testbed-'));
  try {
    owned = await startTestbed({ dir, registry: true, moto: true, log });
  } catch (err) {
    abort.abort();
    throw err;
  }
  process.env[STATE_ENV] = owned.dir;
  if (prebuild) {
    const rest = background('kubectl', () => ensureKubectl(log, opts), abort.signal)
      .then(() => background('node binaries', () => ensureNodeBinaries(log, opts), abort.signal))
      .then(() => background('IMPS', () => buildImps(abort.signal), abort.signal));
    prebuild.done = Promise.all([prebuild.done, rest]);
  }
}

/** The background builds of this run, done or failed (bench/fresh-machine.ts times them). */
export async function backgroundBuilds(): Promise<void> {
  await prebuild?.done;
}

export async function globalTeardown(): Promise<void> {
  if (prebuild) {
    // Go builds stop at once and nothing new starts; debootstrap and buildah are not killed half way
    // (base-images.ts says why): they finish at normal priority, within their own timeouts.
    prebuild.abort.abort();
    boostBuilds(process.pid);
    await prebuild.done;
  }
  if (!owned) return;
  // A fault test may have restarted a process (faults.ts): the state file holds its current pid.
  await stopTestbed(readState(owned.dir) ?? owned);
  rmSync(owned.dir, { recursive: true, force: true });
}
