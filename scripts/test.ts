// `npm test`: the type check, ESLint, the unit tests and the integration tests, in that order, stopping at
// the first that fails. The checks before the integration tests keep one core of two busy, so on a
// machine whose cache lacks the testbed's control-plane binaries their Go build starts at once, beside
// them, in a child process: the integration run's bed then waits for that build (its lock, in
// test/testbed/binaries.ts) instead of starting it. A cached build makes the child return at once.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { STATE_ENV } from '../test/testbed/testbed.ts';

const USAGE = `usage: npm test [-- --help]
  Runs npm run typecheck, lint, test:unit and test:integration, stopping at the first failure.
  Without ${STATE_ENV} (a bed of your own) the integration tests start a testbed, and the
  control plane's binaries are built (first run only) while the checks before them run;
  PULLSECRET_SYNC_PREBUILD=0 builds nothing ahead.`;

const STEPS = ['typecheck', 'lint', 'test:unit', 'test:integration'];

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}

const repo = resolve(import.meta.dirname, '..');

/** Runs `npm run <script>` with this terminal; resolves to its exit code. */
function npmRun(script: string): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn('npm', ['run', script], { cwd: repo, stdio: 'inherit' });
    child.on('error', fail);
    child.on('exit', (code, signal) => { done(code ?? (signal ? 128 : 1)); });
  });
}

/**
 * `npm run testbed -- build`, in this session: where the kernel groups processes by session (autogroup),
 * a build in a session of its own would share the CPU equally with this session, where the type check,
 * lint and unit tests run meanwhile. (The integration run's background builds are in sessions of their own
 * with their weight lowered: test/testbed/binaries.ts, buildCommand.)
 */
function startBuild(): ChildProcess | undefined {
  if (process.env[STATE_ENV] || process.env.PULLSECRET_SYNC_PREBUILD === '0') return undefined;
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/testbed/cli.ts', 'build'],
    { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('error', (err) => { console.error(`[testbed] the early build could not start (the bed builds its binaries itself): ${String(err)}`); });
  return child;
}

const build = startBuild();
// The build stops its Go build and pip on SIGTERM (test/testbed/cli.ts).
const stopBuild = () => {
  if (build && build.exitCode === null && build.signalCode === null) build.kill('SIGTERM');
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopBuild();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  });
}

let code = 0;
for (const step of STEPS) {
  // The integration run waits for the build through its lock; it must not be stopped from here then.
  code = await npmRun(step);
  if (code !== 0) break;
}
if (code !== 0) stopBuild();
process.exitCode = code;
