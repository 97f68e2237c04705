import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { Metrics } from '../../../src/metrics/metrics.ts';
import { standInSource } from '../../../src/util/defer-imports.ts';

const requireHere = createRequire(import.meta.url);
const otelLoaded = () => Object.keys(requireHere.cache).some((k) => k.includes('/node_modules/@opentelemetry/api/'));

test('prom-client\'s OpenTelemetry API stays unloaded through a scrape, and loads when something uses it', async () => {
  const metrics = new Metrics();
  assert.match(await metrics.registry.metrics(), /^pullsecret_sync_process_cpu_seconds_total \d/m);
  assert.equal(otelLoaded(), false);
  // What prom-client holds is the stand-in: using it loads the real API.
  const fromPromClient = createRequire(requireHere.resolve('prom-client/lib/metrics/processCpuTotal.js'))('@opentelemetry/api') as
    { trace: { getSpan: unknown } };
  assert.equal(typeof fromPromClient.trace.getSpan, 'function');
  assert.equal(otelLoaded(), true);
});

test('the stand-in of a builtin is the builtin\'s own objects, without its ES module facade', async () => {
  const http = process.getBuiltinModule('node:http');
  const stand = await import(`data:text/javascript,${encodeURIComponent(standInSource('node:http', ['default', 'Agent']))}`) as
    { default: unknown; Agent: unknown };
  assert.equal(stand.default, http);
  assert.equal(stand.Agent, http.Agent);
});

test('a stand-in may export any name, its own helpers\' too (js-yaml\'s load)', async () => {
  const { pathToFileURL } = await import('node:url');
  const url = pathToFileURL(requireHere.resolve('js-yaml')).href;
  const stand = await import(`data:text/javascript,${encodeURIComponent(standInSource(url, ['load']))}`) as { load: (text: string) => unknown };
  assert.deepEqual(stand.load('a: 1'), { a: 1 });
});
