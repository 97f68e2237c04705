// Stand-ins for the Dockerfile's base images, which live on registries this machine cannot reach. Both
// are built from Debian's packages (debootstrap, the minbase variant, from the configured Debian mirror)
// and the npm `node` package's Linux binary, and kept in the build cache under names the Dockerfile is
// pointed at with build arguments (its defaults stay the real public images):
// - build: Debian bookworm with ca-certificates, Node 24 at /usr/local/bin/node and npm from the npm
//   registry, like node:24-bookworm-slim;
// - runtime: like gcr.io/distroless/nodejs24-debian12:nonroot: glibc, libstdc++, ca-certificates and
//   tzdata, Node 24 at /nodejs/bin/node, user 65532, and no shell or package manager.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ensurePackages } from './apt.ts';
import { buildCommand, cacheRoot, withLock, type BuildOptions } from './binaries.ts';

const run = promisify(execFile);

export const BUILD_IMAGE = 'localhost/pullsecret-sync-testbed/node-build:24';
export const RUNTIME_IMAGE = 'localhost/pullsecret-sync-testbed/node-runtime:24';
/** npm for the build image, from the npm registry. */
const NPM_VERSION = '11.19.1';
const SUITE = 'bookworm';

/** The Node 24 binary of the `node` devDependency (the same one the project runs on). */
function nodeBinary(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('node/package.json')), 'bin', 'node');
}

/**
 * buildah's global flags for the store in the bed-independent build cache. overlay, as the node's
 * containerd uses: vfs copies the whole filesystem for every layer and container, and made a cached
 * rebuild of the image take 5 min and the store grow to 33 GB (overlay: 16 s, 1.5 GB).
 */
export function buildahStore(): string[] {
  const store = join(cacheRoot(), 'buildah-overlay');
  return ['--root', join(store, 'root'), '--runroot', join(store, 'run'), '--storage-driver', 'overlay'];
}

/** buildah on that store. */
export function buildah(...args: string[]): Promise<{ stdout: string }> {
  return buildahWith({}, args);
}

/**
 * buildah as `buildah()`, at the lowest priority for a background build. Never killed on an abort: a
 * killed build leaves its working containers in the store.
 */
export function buildahWith(opts: BuildOptions, args: string[]): Promise<{ stdout: string }> {
  const [command, argv] = buildCommand(opts, 'buildah', [...buildahStore(), ...args]);
  return run(command, argv, { timeout: backgroundTimeout(opts, 20 * 60_000), maxBuffer: 64 * 1024 * 1024 });
}

/** A build's bound: `ms`, or the build lock's hour for a background build (niced, it waits for idle CPU). */
function backgroundTimeout(opts: BuildOptions, ms: number): number {
  return opts.background ? 60 * 60_000 : ms;
}

async function imageExists(name: string): Promise<boolean> {
  return buildah('inspect', '--type', 'image', name).then(() => true, () => false);
}

/** A Debian minbase root filesystem with ca-certificates and tzdata, made once. */
async function rootfs(log: (line: string) => void, opts: BuildOptions): Promise<string> {
  const dir = join(cacheRoot(), `rootfs-${SUITE}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  const mirror = /^URIs:\s*(\S+)/m.exec(readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8'))?.[1]
    ?? 'http://deb.debian.org/debian';
  log(`debootstrap ${SUITE} (minbase) from ${mirror} for the base image stand-ins`);
  const staging = `${dir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const [command, args] = buildCommand(opts, 'debootstrap', ['--variant=minbase', '--include=ca-certificates,tzdata', SUITE, staging, mirror]);
  // Never killed half way by an abort (it mounts /proc and /sys in the staging directory). In the
  // background it may wait long for idle CPU: its bound is the build lock's hour, not 15 minutes.
  await run(command, args, { timeout: backgroundTimeout(opts, 15 * 60_000), maxBuffer: 64 * 1024 * 1024 });
  writeFileSync(join(staging, '.complete'), '');
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return dir;
}

/** Runs `fill(mountpoint)` on a fresh scratch container, applies `config` and commits it as `name`. */
async function fromScratch(name: string, config: string[], fill: (root: string) => Promise<void>): Promise<void> {
  const container = (await buildah('from', 'scratch')).stdout.trim();
  try {
    const root = (await buildah('mount', container)).stdout.trim();
    await fill(root);
    await buildah('config', ...config, container);
    await buildah('commit', '--quiet', container, name);
  } finally {
    await buildah('rm', container).catch(() => undefined);
  }
}

async function buildImage(base: string): Promise<void> {
  const npmDir = join(cacheRoot(), `npm-${NPM_VERSION}`);
  if (!existsSync(join(npmDir, 'package', 'bin', 'npm-cli.js'))) {
    mkdirSync(npmDir, { recursive: true });
    const { stdout } = await run('npm', ['pack', `npm@${NPM_VERSION}`, '--silent', '--pack-destination', npmDir], { timeout: 120_000 });
    await run('tar', ['-xzf', join(npmDir, stdout.trim().split('\n').pop() ?? ''), '-C', npmDir]);
  }
  await fromScratch(BUILD_IMAGE, ['--env', 'PATH=/usr/local/bin:/usr/bin:/bin', '--cmd', '["node"]'], async (root) => {
    await run('cp', ['-a', `${base}/.`, root]);
    cpSync(nodeBinary(), join(root, 'usr/local/bin/node'));
    cpSync(join(npmDir, 'package'), join(root, 'usr/local/lib/node_modules/npm'), { recursive: true });
    await run('ln', ['-sf', '../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/local/bin/npm')]);
  });
}

/** The shared libraries the Node binary links against, as paths inside `base`. */
async function nodeLibraries(base: string): Promise<string[]> {
  const { stdout } = await run('ldd', [nodeBinary()]);
  return [...stdout.matchAll(/(\/\S+\.so[.\d]*)/g)].map((m) => m[1] ?? '').filter((p) => existsSync(join(base, p)));
}

async function runtimeImage(base: string): Promise<void> {
  const libraries = await nodeLibraries(base);
  await fromScratch(RUNTIME_IMAGE, ['--user', '65532:65532', '--workingdir', '/home/nonroot',
    '--entrypoint', '["/nodejs/bin/node"]', '--env', 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'], async (root) => {
    for (const lib of libraries) {
      mkdirSync(dirname(join(root, lib)), { recursive: true });
      await run('cp', ['-L', join(base, lib), join(root, lib)]);
    }
    for (const path of ['etc/ssl/certs/ca-certificates.crt', 'usr/share/zoneinfo']) {
      cpSync(join(base, path), join(root, path), { recursive: true, dereference: true });
    }
    mkdirSync(join(root, 'nodejs/bin'), { recursive: true });
    cpSync(nodeBinary(), join(root, 'nodejs/bin/node'));
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnonroot:x:65532:\n');
    mkdirSync(join(root, 'home/nonroot'), { recursive: true });
    mkdirSync(join(root, 'tmp'), { recursive: true, mode: 0o1777 });
    await run('chown', ['65532:65532', join(root, 'home/nonroot')]);
  });
}

/**
 * Builds the two stand-ins once (kept in the build cache); later calls find them there. Resolves whether
 * it built them. A test run starts this in its background (global-setup.ts, `opts`); a lock makes the
 * image test wait for it.
 */
export async function ensureBaseImages(log: (line: string) => void = () => undefined, opts: BuildOptions = {}): Promise<boolean> {
  ensurePackages(['buildah', 'debootstrap'], log);
  // The stand-ins change when Node does: their names stay, so the binary's hash is their cache key.
  const key = createHash('sha256').update(readFileSync(nodeBinary())).update(NPM_VERSION).digest('hex').slice(0, 12);
  const marker = join(cacheRoot(), `base-images-${key}`);
  const built = async () => existsSync(marker) && await imageExists(BUILD_IMAGE) && await imageExists(RUNTIME_IMAGE);
  if (await built()) return false;
  return withLock('.lock-base-images', async () => {
    if (await built()) return false;
    const base = await rootfs(log, opts);
    opts.signal?.throwIfAborted();
    log('building the base image stand-ins (Node 24 build image, distroless-like runtime)');
    await buildImage(base);
    await runtimeImage(base);
    writeFileSync(marker, '');
    return true;
  }, opts.signal);
}
