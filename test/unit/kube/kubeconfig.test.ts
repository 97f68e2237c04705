import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

test('a path list merges as kubectl merges KUBECONFIG: the first file that names an entry wins, missing files are skipped', async () => {
  const other = join(dir, 'other');
  writeFileSync(other, `apiVersion: v1
kind: Config
clusters:
  - {name: one, cluster: {server: "https://10.0.0.9:6443"}}
  - {name: three, cluster: {server: "https://127.0.0.3:6443", insecure-skip-tls-verify: true}}
users:
  - {name: carol, user: {token: token-three}}
contexts:
  - {name: third, context: {cluster: three, user: carol}}
current-context: third
`);
  const list = [file, join(dir, 'absent'), other].join(':');
  const kc = await loadKubeConfig({ kubeconfig: list });
  assert.equal(kc.getCurrentContext(), 'first', 'the first current-context wins');
  assert.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.1:6443', 'the first cluster named "one" wins');
  assert.deepEqual(kc.getContexts().map((c) => c.name), ['first', 'second', 'third']);
  const third = await loadKubeConfig({ kubeconfig: list, context: 'third' });
  assert.equal(third.getCurrentCluster()?.server, 'https://127.0.0.3:6443');
  await assert.rejects(loadKubeConfig({ kubeconfig: [join(dir, 'absent'), join(dir, 'gone')].join(':') }),
    (err: unknown) => err instanceof KubeConfigError && err.message === `kubeconfig ${join(dir, 'absent')}:${join(dir, 'gone')}: none of its files exists`);
});

test('without --kubeconfig or KUBECONFIG: ~/.kube/config, and without it one message saying what to provide', async () => {
  const home = join(dir, 'home');
  const saved = process.env.HOME;
  process.env.HOME = home;
  try {
    if (!existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) {
      await assert.rejects(loadKubeConfig({}), (err: unknown) => err instanceof KubeConfigError
        && err.message === `no kubeconfig: pass --kubeconfig or set KUBECONFIG, create ${join(home, '.kube', 'config')}, or run in a Pod with a ServiceAccount token`);
    }
    mkdirSync(join(home, '.kube'), { recursive: true });
    writeFileSync(join(home, '.kube', 'config'), readFileSync(file));
    assert.equal((await loadKubeConfig({})).getCurrentCluster()?.server, 'https://127.0.0.1:6443');
  } finally {
    process.env.HOME = saved;
  }
});
