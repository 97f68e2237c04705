// The daemon as a separate process, the way it runs in a pod: for leader election, signals and the
// HTTP endpoints. Logs go to a file the test can read, in one folder per test file that is removed when
// the file passes and kept (its path printed) when it fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../testbed/processes.ts';
import { currentTestbed } from '../testbed/testbed.ts';
import { eventually } from './eventually.ts';
import { assertNoCredentials } from './leaks.ts';
import { scratchDir } from './scratch.ts';
import { LOCAL_OUTBOUND_ARGS } from './outbound.ts';

const root = join(import.meta.dirname, '..', '..');

export interface DaemonProcess {
  name: string;
  child: ChildProcess;
  metricsUrl: string;
  healthUrl: string;
  builderUrl: string;
  logs(): string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
}

/** Node's own flags for the daemon process (after tsx is imported, so a .ts preload works), and environment added to the test's. */
export interface NodeOptions { nodeArgs?: string[]; env?: Record<string, string> }

let logsDir: string | undefined;

/** A log file for daemon `name`, in this test file's folder of daemon logs (kept when the file fails). */
function daemonLogs(name: string): string {
  logsDir ??= scratchDir('pullsecret-sync-daemons', { keepOnFailure: true });
  return join(mkdtempSync(join(logsDir, `${name}-`)), 'daemon.log');
}

export async function spawnDaemon(name: string, args: string[] = [], kubeconfig = currentTestbed().kubeconfig, waitReady = true,
  node: NodeOptions = {}): Promise<DaemonProcess> {
  const [metrics, health, builder] = [await freePort(), await freePort(), await freePort()];
  const logFile = daemonLogs(name);
  const out = openSync(logFile, 'a');
  const child = spawn(join(root, 'node_modules', '.bin', 'node'), ['--import', 'tsx', ...node.nodeArgs ?? [], join(root, 'src', 'main.ts'), 'run',
    `--kubeconfig=${kubeconfig}`, `--metrics-addr=127.0.0.1:${String(metrics)}`, `--health-addr=127.0.0.1:${String(health)}`, `--builder-addr=127.0.0.1:${String(builder)}`,
    ...LOCAL_OUTBOUND_ARGS, ...args],
  { env: { ...process.env, ...node.env, POD_NAME: name }, stdio: ['ignore', out, out] });
  const exited = new Promise<number | string>((resolve) => { child.once('exit', (code, signal) => { resolve(code ?? signal ?? -1); }); })
    .then((code) => {
      assertNoCredentials(readFileSync(logFile, 'utf8'), `the logs of daemon ${name}`);
      return code;
    });
  const proc = { name, child, metricsUrl: `http://127.0.0.1:${String(metrics)}/metrics`, healthUrl: `http://127.0.0.1:${String(health)}`, builderUrl: `https://127.0.0.1:${String(builder)}`,
    logs: () => readFileSync(logFile, 'utf8'), exited };
  if (waitReady) {
    await eventually(async () => (await fetch(`${proc.healthUrl}/readyz`).catch(() => undefined))?.status === 200,
      { timeoutMs: 30_000, message: `daemon ${name} is ready` });
  }
  return proc;
}

/** One metric's value from a Prometheus text exposition, by name and exact label set ('' for none). */
export function metricValue(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

export async function scrape(proc: DaemonProcess): Promise<string> {
  return (await fetch(proc.metricsUrl)).text();
}

/**
 * Waits until a daemon's work queue is empty and took no key between two scrapes a second apart: every
 * reconcile that what came before asked for has run. `metrics` reads its exposition.
 */
export async function quiescent(metrics: () => Promise<string>, who: string, timeoutMs = 60_000): Promise<void> {
  let adds = -1;
  await eventually(async () => {
    const text = await metrics();
    const now = metricValue(text, 'pullsecret_sync_workqueue_adds_total') ?? 0;
    const idle = now > 0 && metricValue(text, 'pullsecret_sync_workqueue_depth') === 0 && now === adds;
    adds = now;
    return idle;
  }, { timeoutMs, intervalMs: 1000, message: `daemon ${who} is idle` });
}
