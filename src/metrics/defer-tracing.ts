// prom-client's default metrics require the OpenTelemetry API when they load, only to label CPU samples
// with the active trace when exemplars are enabled, which the daemon never does. Imported by metrics.ts
// before prom-client, so the API stays out of memory unless something does enable them (then it loads on
// first use). docs/adr/0005-memory-design.md; figures in BENCHMARKS.md ("Module loading").
import { deferImports } from '../util/defer-imports.ts';

deferImports({
  importer: '/node_modules/prom-client/lib/metrics/processCpuTotal.js',
  imports: { '@opentelemetry/api': ['trace', 'context'] },
});
