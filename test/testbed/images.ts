// Images for the node, built locally with buildah (no image registry is reachable): the pause image the
// sandboxes run, and the same single-binary image pushed to the bed's registry as a private image that
// only the right credentials can pull. Both run busybox from Debian's busybox-static, sleeping.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildah } from './base-images.ts';

const run = promisify(execFile);

/** The sandbox image; CRI normalises names to `docker.io/...`, so the imported image carries that name. */
export const PAUSE_IMAGE = 'docker.io/pullsecret-sync/testbed-pause:1';

/** Builds the sleeping busybox image once into `dir`, as an OCI archive; returns its path. */
export async function sleeperArchive(dir: string): Promise<string> {
  const archive = join(dir, 'sleeper.oci.tar');
  if (existsSync(archive)) return archive;
  mkdirSync(dir, { recursive: true });
  const container = (await buildah('from', 'scratch')).stdout.trim();
  try {
    await buildah('copy', container, '/bin/busybox', '/bin/busybox');
    await buildah('config', '--entrypoint', '["/bin/busybox","sleep","2147483647"]', '--user', '65535', container);
    await buildah('commit', '--quiet', container, `oci-archive:${archive}`);
  } finally {
    await buildah('rm', container).catch(() => undefined);
  }
  return archive;
}

/** Imports the pause image into the node's containerd (namespace k8s.io, where the CRI looks). */
export async function buildPauseImage(dir: string, containerdSocket: string): Promise<void> {
  const archive = await sleeperArchive(dir);
  await run('ctr', ['--address', containerdSocket, '--namespace', 'k8s.io', 'images', 'import',
    '--index-name', PAUSE_IMAGE, archive], { timeout: 60_000 });
}

/** Pushes the sleeper image to `ref` (host:port/repo:tag) with the registry user's credentials. */
export async function pushPrivateImage(dir: string, ref: string, certDir: string, user: { username: string; password: string }): Promise<void> {
  const archive = await sleeperArchive(dir);
  await run('skopeo', ['copy', '--quiet', '--dest-cert-dir', certDir, '--dest-creds', `${user.username}:${user.password}`,
    `oci-archive:${archive}`, `docker://${ref}`], { timeout: 60_000 });
}
