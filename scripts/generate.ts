// Writes the generated artifacts from their sources of truth: the CRD into crds/ and into the chart, and
// the Grafana dashboard of docs/dashboards/ into the chart (helm packages only files inside the chart).
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CRD_FILE, crdYaml } from '../src/api/v1alpha1/crd.ts';

const root = join(import.meta.dirname, '..');
for (const dir of ['crds', 'charts/pullsecret-sync/crds']) {
  const file = join(root, dir, CRD_FILE);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, crdYaml());
  console.log(`wrote ${join(dir, CRD_FILE)}`);
}
const dashboard = 'pullsecret-sync.json';
await copyFile(join(root, 'docs', 'dashboards', dashboard), join(root, 'charts', 'pullsecret-sync', 'dashboards', dashboard));
console.log(`wrote charts/pullsecret-sync/dashboards/${dashboard}`);
