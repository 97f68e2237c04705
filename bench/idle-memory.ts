// The idle footprint (BENCHMARKS.md, "Idle footprint"): the built daemon connected to a control plane
// that holds no ImagePullSecret, as a pod with no work runs it. Per run: start-up time (process start to
// /readyz answering 200, caches synced), then 20 s idle, one /metrics scrape and 10 s more, then RSS
// (VmRSS) and peak RSS (VmHWM), and RSS split into anonymous memory (heap, the process's own) and
// file-backed pages (mostly the node binary's machine code, shared with every process that maps it).
// The builder certificate is mounted, as the chart mounts one, or with
// `--generated-cert` generated at start. Median of five runs per `--daemon=DIST[,node flags]` (default:
// this checkout's dist/ with the image's node flags), one daemon at a time.
// Uses the bed in $PULLSECRET_SYNC_TESTBED, else a fresh one.
// `npm run build && node --import tsx bench/idle-memory.ts [--generated-cert] [--daemon=DIST[,flags]]…`
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTls, servingHosts } from '../src/builder/tls.ts';
import { STATE_ENV, readState } from '../test/testbed/testbed.ts';
import { IMAGE_NODE_FLAGS, daemonArgs, freshBed, load, root, startDaemon, until, type Bed } from './support.ts';

const args = process.argv.slice(2);
if (args.includes('--help')) {
  console.log('usage: node --import tsx bench/idle-memory.ts [--generated-cert] [--daemon=DIST[,node flags]]...');
  process.exit(0);
}
const generated = args.includes('--generated-cert');
const specs = args.some((a) => a.startsWith('--daemon=')) ? daemonArgs(args).daemons : [{ dist: join(root, 'dist'), nodeFlags: IMAGE_NODE_FLAGS }];
const RUNS = 5;

async function bed(): Promise<Bed> {
  const dir = process.env[STATE_ENV];
  const state = dir ? readState(dir) : undefined;
  if (!state) return freshBed();
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  const { KubeRest } = await import('../src/kube/rest.ts');
  const rest = new KubeRest(kc);
  return { state, kc, rest, stop: () => { rest.close(); return Promise.resolve(); } };
}

const b = await bed();
const dir = mkdtempSync(join(tmpdir(), 'idle-memory-'));
try {
  const existing = await b.rest.call<{ items: unknown[] }>({ method: 'GET', path: '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets' });
  if (existing.items.length) throw new Error(`the bed holds ${String(existing.items.length)} ImagePullSecrets; an idle daemon needs none`);
  const tls = await generateTls({ hosts: servingHosts() });
  writeFileSync(join(dir, 'tls.crt'), tls.cert);
  writeFileSync(join(dir, 'tls.key'), tls.key, { mode: 0o600 });
  const certFlags = generated ? [] : [`--builder-tls-cert=${join(dir, 'tls.crt')}`, `--builder-tls-key=${join(dir, 'tls.key')}`];
  for (const { dist, nodeFlags } of specs) {
    const runs: { startMs: number; rssMb: number; peakMb: number; anonMb: number; fileMb: number; load: number }[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      const d = await startDaemon(b, certFlags, nodeFlags, join(dist, 'main.js'));
      try {
        await until('ready', async () => (await fetch(`http://127.0.0.1:${String(d.healthPort)}/readyz`).catch(() => undefined))?.status === 200, 60_000, 10);
        const startMs = performance.now() - started;
        await new Promise((r) => setTimeout(r, 20_000));
        await d.metrics();
        await new Promise((r) => setTimeout(r, 10_000));
        const status = readFileSync(`/proc/${String(d.proc.pid)}/status`, 'utf8');
        const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
        runs.push({ startMs: Math.round(startMs), ...d.memory(), anonMb: Number((kb('RssAnon') / 1024).toFixed(1)),
          fileMb: Number((kb('RssFile') / 1024).toFixed(1)), load: load() });
      } finally {
        await d.stop();
      }
    }
    const median = (k: 'startMs' | 'rssMb' | 'peakMb' | 'anonMb' | 'fileMb') => [...runs].sort((x, y) => x[k] - y[k])[Math.floor(RUNS / 2)]?.[k];
    console.log(JSON.stringify({ dist, nodeFlags, cert: generated ? 'generated' : 'mounted', runs,
      median: { startMs: median('startMs'), rssMb: median('rssMb'), peakMb: median('peakMb'), anonMb: median('anonMb'), fileMb: median('fileMb') } }));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  await b.stop();
}
