// Debian's Prometheus on loopback, for the tests that need a real one: it scrapes the targets a test
// names, loads the rule files it is given and answers PromQL over its HTTP API. Each instance has its own
// config, data directory and free port, so it never meets the packaged service or another test's instance.
// promtool (same package) runs the alert unit tests.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { ensurePackages } from './apt.ts';
import { freePort, startProcess, stopProcess, waitFor } from './processes.ts';

const run = promisify(execFile);

export interface ScrapeTarget {
  /** host:port serving /metrics. */
  address: string;
  /** Target labels, e.g. the `namespace` and `pod` a ServiceMonitor would attach. */
  labels: Record<string, string>;
}

export interface PrometheusOptions {
  dir: string;
  targets: ScrapeTarget[];
  ruleFiles?: string[];
  /** Scrape and rule evaluation interval, in seconds. */
  intervalSeconds: number;
}

/** One sample of an instant vector. */
export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface Prometheus {
  url: string;
  pid: number;
  intervalSeconds: number;
  /** An instant query; rejects with Prometheus' error (bad syntax, unknown function) for a failed query. */
  query(expr: string): Promise<Sample[]>;
  /** GET of an API path such as /api/v1/targets, `data` of the answer. */
  api<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}

async function apiGet<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = await res.json() as ApiAnswer<T>;
  if (body.status !== 'success') throw new Error(`Prometheus ${String(res.status)}: ${body.error ?? 'query failed'}`);
  return body.data;
}

export async function startPrometheus(opts: PrometheusOptions): Promise<Prometheus> {
  ensurePackages(['prometheus']);
  mkdirSync(join(opts.dir, 'data'), { recursive: true });
  const interval = `${String(opts.intervalSeconds)}s`;
  const config = join(opts.dir, 'prometheus.yml');
  writeFileSync(config, stringify({
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: opts.ruleFiles ?? [],
    scrape_configs: [{
      job_name: 'pullsecret-sync',
      static_configs: opts.targets.map((t) => ({ targets: [t.address], labels: t.labels })),
    }],
  }));
  const port = await freePort();
  const url = `http://127.0.0.1:${String(port)}`;
  const proc = startProcess('prometheus', 'prometheus', [
    `--config.file=${config}`, `--storage.tsdb.path=${join(opts.dir, 'data')}`, `--web.listen-address=127.0.0.1:${String(port)}`,
    '--storage.tsdb.retention.time=1h', '--log.level=warn',
  ], join(opts.dir, 'prometheus.log'));
  try {
    await waitFor('prometheus', async () => (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) })).ok, 30_000, proc);
  } catch (err) {
    await stopProcess(proc.pid);
    throw err;
  }
  return {
    url, pid: proc.pid, intervalSeconds: opts.intervalSeconds,
    query: async (expr) => (await apiGet<{ result: Sample[] }>(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    api: (path) => apiGet(`${url}${path}`),
    stop: () => stopProcess(proc.pid),
  };
}

export interface PromtoolResult {
  ok: boolean;
  output: string;
}

/** `promtool test rules FILE`: ok is false when any test case failed (or the files do not parse). */
export async function promtoolTestRules(testFile: string): Promise<PromtoolResult> {
  ensurePackages(['promtool']);
  try {
    const { stdout, stderr } = await run('promtool', ['test', 'rules', testFile], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { ok: false, output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}
