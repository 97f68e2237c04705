// A tiny OCI image in an OCI layout directory, made by the test itself (one layer holding one file), so
// pushing and pulling need nothing from the network.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function writeBlob(layout: string, bytes: Buffer): { digest: string; size: number } {
  const hex = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(layout, 'blobs', 'sha256', hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

/** Writes an OCI layout at `dir` holding one image tagged `tag`; returns `oci:<dir>:<tag>` for skopeo. */
export function makeOciImage(dir: string, tag = 'latest', content = 'hello from pullsecret-sync\n'): string {
  const layout = join(dir, 'layout');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const files = join(dir, 'rootfs');
  mkdirSync(files, { recursive: true });
  writeFileSync(join(files, 'hello.txt'), content);
  const tarball = join(dir, 'layer.tar');
  execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '-C', files, '-cf', tarball, 'hello.txt']);
  const tar = readFileSync(tarball);
  const layer = writeBlob(layout, tar);
  const diffId = layer.digest;
  const config = writeBlob(layout, Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [diffId] },
  })));
  const manifest = writeBlob(layout, Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  })));
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest,
      annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
  return `oci:${layout}:${tag}`;
}
