// What the daemon's code costs resident before it does anything: a Node process (the built daemon's
// Node, --expose-gc) imports dist/daemon/run.js and loads a kubeconfig through src/kube/kubeconfig.ts, then
// collects garbage twice and reports RSS and V8 heap. Median of five processes. No cluster needed.
// `npm run build && node --import tsx bench/module-memory.ts [extra node flags]`
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');
const node = join(root, 'node_modules/.bin/node');
const dir = mkdtempSync(join(tmpdir(), 'module-memory-'));
const kubeconfig = join(dir, 'config');
writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`);

const script = `
const dist = ${JSON.stringify(pathToFileURL(join(root, 'dist')).href)};
await import(dist + '/daemon/run.js');
const { loadKubeConfig } = await import(dist + '/kube/kubeconfig.js');
const kc = await loadKubeConfig({ kubeconfig: ${JSON.stringify(kubeconfig)} });
await kc.applyToHTTPSOptions({});
for (let i = 0; i < 2; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 100)); }
const m = process.memoryUsage();
console.log(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal }));
`;

const mb = (n: number) => Number((n / 1e6).toFixed(1));
const runs = Array.from({ length: 5 }, () => JSON.parse(execFileSync(node, ['--expose-gc', ...process.argv.slice(2), '--input-type=module', '-e', script],
  { encoding: 'utf8' })) as { rss: number; heapUsed: number; heapTotal: number });
const median = (k: 'rss' | 'heapUsed' | 'heapTotal') => mb([...runs].sort((a, b) => a[k] - b[k])[2]?.[k] ?? NaN);
console.log(JSON.stringify({ flags: process.argv.slice(2), rssMb: median('rss'), heapUsedMb: median('heapUsed'), heapTotalMb: median('heapTotal') }));
rmSync(dir, { recursive: true, force: true });
