// What the benchmarks share: a fresh control plane per run, a bare client that creates objects with many
// requests in flight, the built daemon as a process of its own, its memory from /proc, and the machine's
// load average printed next to every figure (the machine is shared; latency figures are noisy).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { ObjectMeta } from '../src/kube/objects.ts';
import { KubeRest, METADATA_LIST_ACCEPT } from '../src/kube/rest.ts';
import { installCrd } from '../test/support/daemon.ts';
import { freePort } from '../test/testbed/processes.ts';
import { readState, startTestbed, stopTestbed, type TestbedState } from '../test/testbed/testbed.ts';

export const root = join(import.meta.dirname, '..');

/** The node flags the container image runs the daemon with, read from the Dockerfile's ENTRYPOINT so the two cannot drift. */
export const IMAGE_NODE_FLAGS: string[] = (() => {
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'))?.[1];
  if (!entrypoint) throw new Error('Dockerfile: no ENTRYPOINT in exec form');
  return (JSON.parse(entrypoint) as string[]).filter((arg) => arg.startsWith('--'));
})();

export interface Bed {
  state: TestbedState;
  kc: KubeConfig;
  /** A bare client for the load generator, rate-limited far above anything the daemon uses. */
  rest: KubeRest;
  stop(): Promise<void>;
}

/**
 * A fresh control plane with the CRD installed: what earlier runs left would skew the figures. `extras`
 * adds the bed's registry and its node (test/testbed/README.md, "The node"; needs root).
 */
export async function freshBed(extras: { registry?: boolean; node?: boolean } = {}): Promise<Bed> {
  const dir = mkdtempSync(join(tmpdir(), 'pullsecret-sync-bench-'));
  const state = await startTestbed({ dir, ...extras, log: (l) => { console.error(l); } });
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  const rest = new KubeRest(kc, { qps: 5000, burst: 5000 });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => stopping ??= (async () => {
    rest.close();
    await stopTestbed(readState(dir) ?? state);
    rmSync(dir, { recursive: true, force: true });
  })();
  // The bed's processes are detached: a benchmark interrupted with Ctrl-C or SIGTERM stops them first.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => { void stop().finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : 15))); });
  }
  await installCrd(kc);
  return { state, kc, rest, stop };
}

/** Runs `work` over `items` with `width` calls in flight; a failed call is retried after 200 ms (up to 20 times). */
export async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      for (let attempt = 1; ; attempt++) {
        try {
          await work(item);
          break;
        } catch (err) {
          if (attempt >= 20) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

/** The source every benchmark's resources name: namespace `bench-src`, dockerconfigjson Secret `hub`. */
export const SOURCE = { name: 'hub', namespace: 'bench-src' } as const;

/** Creates SOURCE with one `registry.example.com` login, `username:password`. */
export async function createSource(rest: KubeRest, username = 'u', password = 'p'): Promise<void> {
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  await create(rest, '/api/v1/namespaces', { metadata: { name: SOURCE.namespace } });
  await create(rest, `/api/v1/namespaces/${SOURCE.namespace}/secrets`, { metadata: { name: SOURCE.name }, type: 'kubernetes.io/dockerconfigjson',
    stringData: { '.dockerconfigjson': JSON.stringify({ auths: { 'registry.example.com': { username, password, auth } } }) } });
}

/** Creates `body` at `path`; an object that already exists (a retried create) counts as created. */
export async function create(rest: KubeRest, path: string, body: unknown): Promise<void> {
  try {
    await rest.call({ method: 'POST', path, body });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
}

export interface DaemonProcess {
  proc: ChildProcess;
  metricsPort: number;
  healthPort: number;
  /** Current and peak resident memory of the daemon, MB. */
  memory(): { rssMb: number; peakMb: number };
  /** The sum of the daemon's managed-Secrets gauge over resources (0 while it does not answer). */
  managedSecretsGauge(): Promise<number>;
  /** The daemon's /metrics text. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** The built daemon (`dist/main.js`, as the container image runs it); without leader election unless `flags` ask. */
export async function startDaemon(bed: Bed, flags: string[], nodeFlags: string[] = [], main = join(root, 'dist/main.js')): Promise<DaemonProcess> {
  const [metrics, health, builder] = [await freePort(), await freePort(), await freePort()];
  const proc = spawn(join(root, 'node_modules/.bin/node'), [...nodeFlags, main, 'run', `--kubeconfig=${bed.state.kubeconfig}`,
    ...(flags.some((f) => f.startsWith('--leader-elect')) ? [] : ['--leader-elect=false']), `--metrics-addr=127.0.0.1:${String(metrics)}`, `--health-addr=127.0.0.1:${String(health)}`,
    `--builder-addr=127.0.0.1:${String(builder)}`, '--log-level=warn', ...flags], { stdio: 'inherit' });
  const exited = new Promise<void>((r) => { proc.once('exit', () => { r(); }); });
  const status = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${String(proc.pid)}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${String(metrics)}/metrics`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    return res?.ok ? res.text() : '';
  };
  return {
    proc, metricsPort: metrics, healthPort: health,
    memory: () => ({ rssMb: Number(status('VmRSS').toFixed(1)), peakMb: Number(status('VmHWM').toFixed(1)) }),
    metrics: scrape,
    managedSecretsGauge: async () => (await scrape()).split('\n').filter((l) => l.startsWith('pullsecret_sync_managed_secrets{'))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0),
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Polls `probe` every `everyMs` until it holds; rejects after `timeoutMs`. */
export async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The 1-minute load average, to print next to a figure. */
export const load = (): number => Number((loadavg()[0] ?? 0).toFixed(2));

/** The metadata of every Secret with the managed-by label (metadata-only list, paged). */
export async function managedSecretMetadata(rest: KubeRest): Promise<ObjectMeta[]> {
  const out: ObjectMeta[] = [];
  let cont: string | undefined;
  do {
    const page = await rest.call<{ items?: { metadata: ObjectMeta }[]; metadata?: { continue?: string } }>({
      method: 'GET', path: '/api/v1/secrets', accept: METADATA_LIST_ACCEPT,
      query: { labelSelector: 'app.kubernetes.io/managed-by=pullsecret-sync', limit: 5000, continue: cont },
    });
    for (const item of page.items ?? []) out.push(item.metadata);
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return out;
}

/** Counts Secrets with the managed-by label. */
export async function countManagedSecrets(rest: KubeRest): Promise<number> {
  return (await managedSecretMetadata(rest)).length;
}

/**
 * A benchmark's command line: its positional arguments, and each `--daemon=DIST[,node flags]` to measure
 * in turn (default: this checkout's dist/ without node flags).
 */
export function daemonArgs(args: readonly string[]): { positional: string[]; daemons: { dist: string; nodeFlags: string[] }[] } {
  const specs = args.filter((a) => a.startsWith('--daemon=')).map((a) => a.slice('--daemon='.length).split(','));
  const daemons = specs.map(([dist = join(root, 'dist'), ...nodeFlags]) => ({ dist, nodeFlags }));
  return { positional: args.filter((a) => !a.startsWith('--')), daemons: daemons.length ? daemons : [{ dist: join(root, 'dist'), nodeFlags: [] }] };
}
