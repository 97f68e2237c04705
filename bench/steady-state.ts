// Steady state (BENCHMARKS.md): after convergence, the daemon makes no writes of any kind for ten
// minutes, Lease renewals aside, counted by the API server itself (`apiserver_request_total`, every verb
// but GET/LIST/WATCH), not by the daemon. Fresh bed; 1,000 namespaces, 20 resources (one of them also
// patching the default ServiceAccounts, one selecting by pods), leader election on. Nothing else writes on
// the bed during the window, so every write counted is the daemon's, the controller-manager's or the
// API server's own; all are listed by verb and resource.
// `npm run build && node --import tsx bench/steady-state.ts [namespaces] [minutes]`
import { execFileSync } from 'node:child_process';
import { countManagedSecrets, create, createSource, freshBed, load, pool, startDaemon, until } from './support.ts';

const NAMESPACES = Number(process.argv[2] ?? 1000);
const MINUTES = Number(process.argv[3] ?? 10);
const RESOURCES = 20;
const READS = new Set(['GET', 'LIST', 'WATCH']);

/** Writes so far by `verb resource[/subresource]`, from the API server's own metrics. */
function serverWrites(kubeconfig: string): Map<string, number> {
  const text = execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'get', '--raw', '/metrics'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const label = (name: string) => new RegExp(`[{,]${name}="([^"]*)"`).exec(line)?.[1] ?? '';
    if (READS.has(label('verb'))) continue;
    const key = `${label('verb')} ${label('resource')}${label('subresource') ? `/${label('subresource')}` : ''}`;
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

async function main(): Promise<void> {
  const bed = await freshBed();
  const { rest } = bed;
  await create(rest, '/api/v1/namespaces', { metadata: { name: 'bench-lease' } });
  await createSource(rest);
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => ({ name: `soak-${String(i)}`, group: i % RESOURCES }));
  await pool(namespaces, 32, (ns) => create(rest, '/api/v1/namespaces', { metadata: { name: ns.name, labels: { 'bench-group': String(ns.group) } } }));
  await pool(namespaces.filter((ns) => ns.group === 1), 16, (ns) => create(rest, `/api/v1/namespaces/${ns.name}/pods`,
    { metadata: { name: 'web', labels: { app: 'web' } }, spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.example.com/c:1' }] } }));
  for (let i = 0; i < RESOURCES; i++) {
    await create(rest, '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets', {
      apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: `soak-${String(i)}` },
      spec: { registry: { credentials: [{ name: 'hub', namespace: 'bench-src' }] }, target: {
        namespaces: { labels: [{ matchLabels: { 'bench-group': String(i) } }] }, secret: { name: `pull-${String(i)}` },
        ...(i === 0 ? { serviceAccounts: { names: ['default'] } } : {}),
        ...(i === 1 ? { namespacesWithPods: { labels: [{ matchLabels: { app: 'web' } }] } } : {}),
      } },
    });
  }
  const daemon = await startDaemon(bed, ['--leader-elect=true', '--namespace=bench-lease']);
  await until('convergence', async () => (await countManagedSecrets(rest)) >= NAMESPACES && (await daemon.managedSecretsGauge()) >= NAMESPACES, 900_000, 1000);
  // Let status, Events and ServiceAccount patches of the convergence land before the window opens.
  await new Promise((r) => setTimeout(r, 30_000));
  const before = serverWrites(bed.state.kubeconfig);
  const started = new Date().toISOString();
  await new Promise((r) => setTimeout(r, MINUTES * 60_000));
  const after = serverWrites(bed.state.kubeconfig);
  const writes: Record<string, number> = {};
  for (const [key, n] of after) if (n - (before.get(key) ?? 0) > 0) writes[key] = n - (before.get(key) ?? 0);
  const nonLease = Object.entries(writes).filter(([k]) => !k.endsWith(' leases')).reduce((s, [, n]) => s + n, 0);
  const daemonWrites = (await daemon.metrics()).split('\n').filter((l) => l.startsWith('pullsecret_sync_api_writes_total{'));
  console.log(JSON.stringify({ namespaces: NAMESPACES, resources: RESOURCES, minutes: MINUTES, windowStart: started,
    writesOtherThanLeases: nonLease, serverWritesByVerbAndResource: writes, daemonWriteCounters: daemonWrites, load: load() }));
  await daemon.stop();
  await bed.stop();
}

await main();
