// `npm run image`: builds the container image from the repository's Dockerfile with buildah (no Docker
// daemon), against locally built stand-ins for its base images (test/testbed/base-images.ts). With a
// testbed up (`npm run testbed -- up`), pushes it to the bed's registry and prints the reference to
// install the chart with. Prints the image's size, compressed (as pushed) and unpacked.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildah } from '../test/testbed/base-images.ts';
import { IMAGE, buildImage, pushImage } from '../test/testbed/image.ts';
import { isRunning, readState, STATE_ENV } from '../test/testbed/testbed.ts';

const USAGE = `usage: npm run image [-- --help]
  Builds ${IMAGE} from ./Dockerfile with buildah; with a testbed up (.testbed/, or ${STATE_ENV}),
  pushes it to the bed's registry as <registry>/pullsecret-sync:dev and prints that reference.`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}

const repo = resolve(import.meta.dirname, '..');
const started = Date.now();
await buildImage(repo, (line) => { console.log(line); });
const { stdout } = await buildah('images', '--format', '{{.Size}}', IMAGE);
console.log(`built ${IMAGE} in ${Math.round((Date.now() - started) / 1000)} s, unpacked ${stdout.trim()}`);

const bed = readState(process.env[STATE_ENV] ?? join(repo, '.testbed', 'bed'));
const registry = bed && isRunning(bed) ? bed.registry : undefined;
const user = registry?.users[0];
if (registry && user) {
  const ref = `${registry.host}/pullsecret-sync:dev`;
  const dir = mkdtempSync(join(tmpdir(), 'image-'));
  try {
    const digest = await pushImage(ref, registry.certDir, user, dir);
    const manifest = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--cert-dir', registry.certDir,
      '--creds', `${user.username}:${user.password}`, `docker://${ref}`], { encoding: 'utf8' })) as { layers?: { size: number }[] };
    const compressed = (manifest.layers ?? []).reduce((sum, layer) => sum + layer.size, 0);
    console.log(`pushed ${ref}@${digest}, compressed ${(compressed / 1e6).toFixed(1)} MB`);
    console.log(`image reference: ${ref}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  console.log('no testbed running: not pushed (start one with `npm run testbed -- up`)');
}
