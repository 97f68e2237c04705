// The idle daemon loads nothing a cluster does not use (docs/adr/0005-memory-design.md): a daemon process
// with the image's node flags, connected to the testbed, with no ImagePullSecrets and a mounted builder
// certificate (as the chart mounts one), is ready, scraped and probed, then stopped; every module it
// loaded is recorded (test/support/record-modules.ts), and none of the packages below may be among them,
// nor Node's bundled undici. A static import of any of them on the daemon's start path fails this test.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generateTls, servingHosts } from '../../src/builder/tls.ts';
import { rest } from '../support/cluster.ts';
import { installCrd } from '../support/daemon.ts';
import { scrape, spawnDaemon, type DaemonProcess } from '../support/daemon-process.ts';
import { eventually, uniqueName } from '../support/eventually.ts';
import { adminKubeConfig } from '../testbed/clients.ts';

/** What the idle daemon must not load, by why it is not needed: package paths under node_modules/. */
const NOT_AT_IDLE: Record<string, RegExp> = {
  'cloud SDKs (loaded on a cloud\'s first token)': /\/node_modules\/(@aws-sdk|@smithy|@azure|google-auth-library|gaxios)\//,
  'X.509 stack (loaded when a builder certificate must be generated)': /\/node_modules\/(@peculiar|reflect-metadata|tsyringe|asn1js)\//,
  'CEL evaluator (only `validate` needs it)': /\/node_modules\/@marcbachmann\/cel-js\//,
  'YAML library (only the other commands need it)': /\/node_modules\/yaml\//,
  'tracing API (only for exemplars, never enabled)': /\/node_modules\/@opentelemetry\//,
  'client-node\'s generated client, undici and proxy agents': /\/client-node\/dist\/gen\/(index|apis|models)\b|\/node_modules\/(undici|socks|socks-proxy-agent|hpagent)\//,
  'Node\'s bundled undici (fetch, WebSocket; an ES import of node:http loads it)': /^NativeModule internal\/deps\/undici\//,
};

const IMAGE_NODE_FLAGS = ['--optimize-for-size', '--max-semi-space-size=2'];
const dir = mkdtempSync(join(tmpdir(), 'idle-footprint-'));
let daemon: DaemonProcess | undefined;

after(async () => {
  if (daemon?.child.exitCode === null) daemon.child.kill('SIGKILL');
  await daemon?.exited;
  rmSync(dir, { recursive: true, force: true });
  rest.close();
});

test('the idle daemon loads no cloud SDK, X.509, CEL, YAML or tracing code', async () => {
  await installCrd(adminKubeConfig());
  // Right after the CRD is established its storage may still answer 429 for a moment.
  const existing = await eventually(() => rest.call<{ items: { metadata: { name: string } }[] }>({ method: 'GET', path: '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets' })
    .catch(() => undefined), { timeoutMs: 30_000, message: 'the ImagePullSecrets can be listed' });
  assert.deepEqual(existing.items.map((i) => i.metadata.name), [], 'the testbed must hold no ImagePullSecret for an idle daemon (a test before this one left it)');

  const tls = await generateTls({ hosts: servingHosts() });
  const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), record: join(dir, 'modules.txt') };
  writeFileSync(files.cert, tls.cert);
  writeFileSync(files.key, tls.key, { mode: 0o600 });
  daemon = await spawnDaemon(uniqueName('idle'), ['--leader-elect=false', `--builder-tls-cert=${files.cert}`, `--builder-tls-key=${files.key}`],
    undefined, true, { nodeArgs: [...IMAGE_NODE_FLAGS, '--import', join(import.meta.dirname, '..', 'support', 'record-modules.ts')],
      env: { RECORD_MODULES_TO: files.record } });
  assert.match(await scrape(daemon), /^pullsecret_sync_process_cpu_seconds_total /m, 'the default metrics are served');
  assert.equal((await fetch(`${daemon.healthUrl}/healthz`)).status, 200);
  daemon.child.kill('SIGTERM');
  assert.equal(await daemon.exited, 0);

  const loaded = readFileSync(files.record, 'utf8').split('\n').filter(Boolean);
  // The record is real: it holds what the daemon does load.
  assert.ok(loaded.some((u) => u.includes('/node_modules/prom-client/')), 'prom-client recorded');
  assert.ok(loaded.some((u) => u.endsWith('/node_modules/@kubernetes/client-node/dist/config.js')), 'client-node\'s config.js recorded');
  assert.ok(loaded.includes('NativeModule http2'), 'Node\'s own modules recorded');
  const found = Object.entries(NOT_AT_IDLE).flatMap(([why, re]) => loaded.filter((u) => re.test(u)).map((u) => `${why}: ${u}`));
  assert.deepEqual(found, []);
});
