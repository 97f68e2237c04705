// Memory with large sources (docs/adr/0005-memory-design.md): six dockerconfigjson source Secrets of about 0.9 MB
// each (850 registries, every source naming the same ones with its own random passwords, so a merge of
// several stays under the 1 MiB a Secret may hold), six resources each naming three of them (resource i:
// sources i, i+1, i+2) and selecting the same namespaces. The built daemon starts while the sources are
// still missing (baseline), then the sources are created (every Secret written), edited in place a few
// times (every Secret rewritten each round: memory must not grow with edits), and deleted. After each
// phase the daemon's VmRSS and VmHWM (/proc) and V8's heap and external memory (its /metrics) are read.
// Each `--daemon=DIST[,node flags]` runs the whole scenario on a fresh bed of its own.
// `npm run build && node --import tsx bench/large-sources.ts [namespaces] [edits] [--daemon=dist,--optimize-for-size,--max-semi-space-size=2]…`
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { KubeRest } from '../src/kube/rest.ts';
import { create, daemonArgs, freshBed, load, managedSecretMetadata, pool, startDaemon, until, type DaemonProcess } from './support.ts';

const args = process.argv.slice(2);
const { positional: [nsArg, editArg], daemons } = daemonArgs(args);
const NAMESPACES = Number(nsArg ?? 10);
const EDITS = Number(editArg ?? 3);
const SOURCES = 6;
const RESOURCES = 6;
const REGISTRIES = 850;
const SOURCE_NS = 'big-src';
const IPS_PATH = '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets';
const sourcePath = (i: number) => `/api/v1/namespaces/${SOURCE_NS}/secrets/src-${String(i)}`;

/** A docker config of REGISTRIES entries with fresh random passwords: about 0.9 MB of JSON. */
function bigConfig(): string {
  const auths: Record<string, { username: string; password: string; auth: string }> = {};
  for (let k = 0; k < REGISTRIES; k++) {
    const username = `robot-${String(k)}`;
    const password = randomBytes(300).toString('base64');
    auths[`registry-${String(k)}.example.com`] = { username, password, auth: Buffer.from(`${username}:${password}`).toString('base64') };
  }
  return JSON.stringify({ auths });
}

const sourceBody = (i: number) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `src-${String(i)}`, namespace: SOURCE_NS },
  type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': bigConfig() } });

/** The data-hash annotation of every managed Secret. */
async function managedHashes(rest: KubeRest): Promise<string[]> {
  return (await managedSecretMetadata(rest)).map((m) => m.annotations?.['pullsecret-sync.dev/data-hash'] ?? '');
}

/** Every resource's Ready reason. */
async function readyReasons(rest: KubeRest): Promise<string[]> {
  const list = await rest.call<{ items?: { status?: { conditions?: { type: string; reason: string }[] } }[] }>({ method: 'GET', path: IPS_PATH });
  return (list.items ?? []).map((r) => r.status?.conditions?.find((c) => c.type === 'Ready')?.reason ?? '');
}

/** Every Secret of every resource carries a hash none of `previous` carried. */
async function rolledOut(rest: KubeRest, previous: ReadonlySet<string>): Promise<boolean> {
  const hashes = await managedHashes(rest);
  return hashes.length === RESOURCES * NAMESPACES && hashes.every((h) => h !== '' && !previous.has(h));
}

/** Resident memory from /proc and V8's heap and external memory from the daemon's metrics, MB. */
async function sample(daemon: DaemonProcess, phase: string): Promise<Record<string, unknown>> {
  // Let the daemon finish its status writes and V8 collect what the phase left behind.
  await new Promise((r) => setTimeout(r, 10_000));
  const text = await daemon.metrics();
  const metric = (name: string) => Number((Number(new RegExp(`^pullsecret_sync_${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20).toFixed(1));
  const { rssMb, peakMb } = daemon.memory();
  const row = { phase, rssMb, peakMb, heapUsedMb: metric('nodejs_heap_size_used_bytes'), heapTotalMb: metric('nodejs_heap_size_total_bytes'), externalMb: metric('nodejs_external_memory_bytes'), load: load() };
  console.error(JSON.stringify(row));
  return row;
}

async function scenario(dist: string, nodeFlags: string[]): Promise<void> {
  const bed = await freshBed();
  const { rest } = bed;
  await create(rest, '/api/v1/namespaces', { metadata: { name: SOURCE_NS } });
  const namespaces = Array.from({ length: NAMESPACES }, (_, j) => `big-${String(j)}`);
  await pool(namespaces, 8, (name) => create(rest, '/api/v1/namespaces', { metadata: { name, labels: { big: 'yes' } } }));
  for (let i = 0; i < RESOURCES; i++) {
    const credentials = [0, 1, 2].map((k) => ({ name: `src-${String((i + k) % SOURCES)}`, namespace: SOURCE_NS }));
    await create(rest, IPS_PATH, { apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: `big-${String(i)}` },
      spec: { registry: { credentials }, target: { namespaces: { labels: [{ matchLabels: { big: 'yes' } }] }, secret: { name: `pull-${String(i)}` } } } });
  }
  const daemon = await startDaemon(bed, [], nodeFlags, join(dist, 'main.js'));
  const rows = [];
  await until('every resource reports its missing sources', async () => (await readyReasons(rest)).filter((r) => r === 'SourceError').length === RESOURCES, 120_000, 500);
  rows.push(await sample(daemon, 'baseline, sources missing'));
  await pool(Array.from({ length: SOURCES }, (_, i) => i), 2, (i) => create(rest, `/api/v1/namespaces/${SOURCE_NS}/secrets`, sourceBody(i)));
  await until('every Secret written', () => rolledOut(rest, new Set()), 600_000, 1000);
  rows.push(await sample(daemon, 'sources created, Secrets written'));
  for (let round = 1; round <= EDITS; round++) {
    const previous = new Set(await managedHashes(rest));
    for (let i = 0; i < SOURCES; i++) await rest.call({ method: 'PUT', path: sourcePath(i), body: sourceBody(i) });
    await until(`edit ${String(round)} rolled out`, () => rolledOut(rest, previous), 600_000, 1000);
    rows.push(await sample(daemon, `sources edited (round ${String(round)})`));
  }
  for (let i = 0; i < SOURCES; i++) await rest.call({ method: 'DELETE', path: sourcePath(i) });
  await until('every resource reports its deleted sources', async () => (await readyReasons(rest)).filter((r) => r === 'SourceError').length === RESOURCES, 120_000, 500);
  rows.push(await sample(daemon, 'sources deleted'));
  console.log(JSON.stringify({ dist, nodeFlags, namespaces: NAMESPACES, resources: RESOURCES, sources: SOURCES, rows }));
  await daemon.stop();
  await bed.stop();
}

for (const { dist, nodeFlags } of daemons) await scenario(dist, nodeFlags);
