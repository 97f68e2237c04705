// helm for the chart tests: the testbed's helm, built from the Go module proxy like the other testbed
// binaries (test/testbed/binaries.ts, wrapper module test/testbed/go/helm).
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cacheRoot, ensureHelm } from '../testbed/binaries.ts';

const run = promisify(execFile);

/** The chart under test, charts/pullsecret-sync of this repository. */
export const CHART_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'charts', 'pullsecret-sync');

let resolved: Promise<string> | undefined;

/** Path of the testbed's helm, resolved once per process (built on first use if the cache lacks it). */
function helmBinary(): Promise<string> {
  resolved ??= ensureHelm().then((b) => b.helm, (err: unknown) => {
    resolved = undefined;
    throw err;
  });
  return resolved;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with its own config, cache and data directories; never throws on a non-zero exit. */
export async function runHelm(args: string[]): Promise<HelmResult> {
  const bin = await helmBinary();
  const home = join(cacheRoot(), 'helm-home');
  const env = { ...process.env, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') };
  try {
    const { stdout, stderr } = await run(bin, args, { env, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export interface RenderOptions {
  release: string;
  namespace: string;
  /** `--set` values, e.g. `{ 'serviceMonitor.enabled': 'true' }`. */
  set?: Record<string, string>;
  /** Template paths relative to the chart, e.g. `templates/role.yaml`. */
  showOnly?: string[];
  includeCrds?: boolean;
}

/** `helm template` of the chart; throws with helm's message when rendering fails. */
export async function renderChart(opts: RenderOptions): Promise<string> {
  const args = ['template', opts.release, CHART_DIR, '--namespace', opts.namespace,
    ...Object.entries(opts.set ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
    ...(opts.showOnly ?? []).flatMap((t) => ['--show-only', t]),
    ...(opts.includeCrds ? ['--include-crds'] : [])];
  const result = await runHelm(args);
  if (result.code !== 0) throw new Error(`helm template failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}
