// The project's container image, built from the repository's Dockerfile (the file users build) with
// buildah, against the base image stand-ins (base-images.ts). The build gets the host's network and CA
// bundle for `npm ci` as a build secret, never as a layer. `npm run image` and the image tests use it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_IMAGE, RUNTIME_IMAGE, buildah, buildahWith, ensureBaseImages } from './base-images.ts';
import { withLock, type BuildOptions } from './binaries.ts';

export const IMAGE = 'localhost/pullsecret-sync:dev';

const HOST_CA = '/etc/ssl/certs/ca-certificates.crt';

export interface ImageConfig {
  user: string;
  entrypoint: string[];
  cmd: string[];
}

/**
 * Builds `IMAGE` from `<repo>/Dockerfile`; resolves its configuration. One build at a time: a test run
 * builds it in its background (global-setup.ts, `opts`), and a test's own build then reuses its layers.
 */
export async function buildImage(repo: string, log: (line: string) => void = () => undefined, opts: BuildOptions = {}): Promise<ImageConfig> {
  await ensureBaseImages(log, opts);
  await withLock('.lock-image', async () => {
    log(`building ${IMAGE} from ${join(repo, 'Dockerfile')}`);
    await buildahWith(opts, ['bud', '--quiet', ...standInBuildArgs(), '--tag', IMAGE, '--file', join(repo, 'Dockerfile'), repo]);
  }, opts.signal);
  return imageConfig();
}

/**
 * What `buildah bud` needs here beyond what a user types: the stand-in base images, the host's network
 * and its CA bundle for `npm ci` (a build secret, never a layer), and cached layers.
 */
export function standInBuildArgs(): string[] {
  const secret = existsSync(HOST_CA) ? ['--secret', `id=host-ca,src=${HOST_CA}`] : [];
  return ['--network', 'host', '--isolation', 'chroot', '--layers',
    '--build-arg', `BUILD_IMAGE=${BUILD_IMAGE}`, '--build-arg', `RUNTIME_IMAGE=${RUNTIME_IMAGE}`, ...secret];
}

export async function imageConfig(): Promise<ImageConfig> {
  const { stdout } = await buildah('inspect', '--type', 'image', IMAGE);
  const image = JSON.parse(stdout) as {
    OCIv1: { config?: { User?: string; Entrypoint?: string[]; Cmd?: string[] }; rootfs?: { diff_ids?: string[] } };
  };
  const config = image.OCIv1.config ?? {};
  return { user: config.User ?? '', entrypoint: config.Entrypoint ?? [], cmd: config.Cmd ?? [] };
}

/** Pushes `IMAGE` to `ref` (host:port/repo:tag) with a registry user's credentials; resolves the digest. */
export async function pushImage(ref: string, certDir: string, user: { username: string; password: string }, dir: string): Promise<string> {
  const digestFile = join(dir, 'image.digest');
  await buildah('push', '--quiet', '--cert-dir', certDir, '--creds', `${user.username}:${user.password}`,
    '--digestfile', digestFile, IMAGE, `docker://${ref}`);
  return readFileSync(digestFile, 'utf8').trim();
}
