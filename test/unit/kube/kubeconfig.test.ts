import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KubeConfigError, loadKubeConfig } from '../../../src/kube/kubeconfig.ts';
import { standInSource } from '../../../src/util/defer-imports.ts';

// Every module this process evaluates, to show what loading a kubeconfig pulls in. Registered before
// anything imports client-node (node:test runs each test file in a process of its own).
const loaded: string[] = [];
registerHooks({ load(url, context, nextLoad) { loaded.push(url); return nextLoad(url, context); } });

const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });

const file = join(dir, 'config');
writeFileSync(file, `apiVersion: v1
kind: Config
clusters:
  - {name: one, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}
  - {name: two, cluster: {server: "https://127.0.0.2:6443", insecure-skip-tls-verify: true}}
users:
  - {name: alice, user: {token: token-one}}
  - {name: bob, user: {token: token-two}}
contexts:
  - {name: first, context: {cluster: one, user: alice}}
  - {name: second, context: {cluster: two, user: bob}}
current-context: first
`);

test('loadKubeConfig reads the file, honours --context and authenticates without the generated API client', async () => {
  const kc = await loadKubeConfig({ kubeconfig: file, context: 'second' });
  assert.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.2:6443');
  const opts: { headers?: Record<string, unknown> } = {};
  await kc.applyToHTTPSOptions(opts);
  assert.equal(opts.headers?.Authorization, 'Bearer token-two');

  const clientNode = loaded.filter((u) => u.includes('/@kubernetes/client-node/'));
  assert.ok(clientNode.some((u) => u.endsWith('/dist/config.js')), 'config.js is what provides KubeConfig');
  const heavy = loaded.filter((u) => /\/client-node\/dist\/gen\/(index|apis|models)\b/.test(u) || /\/node_modules\/(undici|socks|socks-proxy-agent|hpagent)\//.test(u));
  assert.deepEqual(heavy, []);
});

test('a stand-in loads the real module on first use: construction, static members and calls reach it', async () => {
  const { createRequire } = await import('node:module');
  const { pathToFileURL } = await import('node:url');
  const url = pathToFileURL(createRequire(import.meta.url).resolve('hpagent')).href;
  const stand = await import(`data:text/javascript,${encodeURIComponent(standInSource(url, ['HttpsProxyAgent']))}`) as { HttpsProxyAgent: new (o: object) => object };
  assert.ok(!loaded.includes(url), 'nothing loaded before first use');
  const agent = new stand.HttpsProxyAgent({ proxy: 'http://127.0.0.1:3128' });
  const real = createRequire(import.meta.url)('hpagent') as { HttpsProxyAgent: new (o: object) => object };
  assert.ok(agent instanceof real.HttpsProxyAgent);
  assert.equal((stand.HttpsProxyAgent as unknown as { name: string }).name, 'HttpsProxyAgent');
});

test('a kubeconfig that cannot be used is one line naming the file or the context, and what to do', async () => {
  const refused = async (opts: { kubeconfig?: string; context?: string }) => {
    try {
      await loadKubeConfig(opts);
    } catch (err) {
      assert.ok(err instanceof KubeConfigError, String(err));
      assert.doesNotMatch(err.message, /\n/);
      return err.message;
    }
    return assert.fail('accepted');
  };
  assert.equal(await refused({ kubeconfig: join(dir, 'absent') }), `kubeconfig ${join(dir, 'absent')}: no such file`);
  const broken = join(dir, 'broken');
  writeFileSync(broken, 'clusters: [\n  - {name: one\n');
  assert.match(await refused({ kubeconfig: broken }), new RegExp(`^kubeconfig ${broken}: not a kubeconfig \\(.+\\)$`));
  assert.equal(await refused({ kubeconfig: file, context: 'third' }), 'context "third" is not in the kubeconfig; its contexts: first, second');
  const empty = join(dir, 'empty');
  writeFileSync(empty, 'apiVersion: v1\nkind: Config\n');
  assert.equal(await refused({ kubeconfig: empty }), `the kubeconfig ${empty} has no current context with a cluster; set its current-context or pass --context`);
});
