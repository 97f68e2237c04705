import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTls, loadTls, resolveTls, servingHosts, watchTls, type ServingTls } from '../../../src/builder/tls.ts';
import { eventually } from '../../support/eventually.ts';
import { FakeClock } from '../../../src/util/clock.ts';

test('a generated CA signs a serving certificate for the requested names', async () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const tls = await generateTls({ hosts: servingHosts({ name: 'pullsecret-sync', namespace: 'ops' }), validityDays: 30, clock });
  assert.ok(tls.ca);
  const ca = new X509Certificate(tls.ca);
  const leaf = new X509Certificate(tls.cert); // the first certificate of the chain
  assert.equal(ca.ca, true);
  assert.equal(leaf.ca, false);
  assert.ok(leaf.checkIssued(ca));
  assert.ok(leaf.verify(ca.publicKey));
  assert.ok(tls.cert.endsWith(tls.ca), 'the served chain ends with the CA');
  assert.equal(leaf.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:pullsecret-sync, ' +
    'DNS:pullsecret-sync.ops, DNS:pullsecret-sync.ops.svc, DNS:pullsecret-sync.ops.svc.cluster.local');
  assert.ok(leaf.checkHost('pullsecret-sync.ops.svc'));
  assert.ok(leaf.checkIP('127.0.0.1'));
  assert.equal(new Date(leaf.validTo).getTime(), Date.UTC(2026, 0, 31));
  assert.ok(new Date(leaf.validFrom).getTime() < clock.nowMs());
  assert.match(tls.key, /^-----BEGIN PRIVATE KEY-----/);
});

test('file-based TLS needs both files; a missing file is named without content', async () => {
  await assert.rejects(resolveTls({ certFile: '/nonexistent/tls.crt' }, []), /needs both a certificate file and a key file/);
  assert.throws(() => loadTls({ certFile: '/nonexistent/tls.crt', keyFile: '/nonexistent/tls.key' }), /^Error: cannot read TLS file \/nonexistent\/tls\.crt$/);
  assert.ok((await resolveTls({}, ['localhost'])).ca);
});

test('watched TLS files are served anew when they change and form a valid pair; a mismatched pair is reported', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-watch-'));
  const files = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  const write = (t: ServingTls): void => { writeFileSync(files.keyFile, t.key); writeFileSync(files.certFile, t.cert); };
  const first = await generateTls({ hosts: ['localhost'] });
  write(first);
  const changes: ServingTls[] = [];
  const errors: string[] = [];
  const stop = watchTls(files, loadTls(files), { onChange: (t) => changes.push(t), onError: (m) => errors.push(m), intervalMs: 20 });
  try {
    const second = await generateTls({ hosts: ['localhost'] });
    write(second);
    await eventually(() => changes.at(-1)?.cert === second.cert, { timeoutMs: 5000, intervalMs: 20, message: 'the new pair is reported' });
    const before = errors.length;
    writeFileSync(files.keyFile, first.key);
    await eventually(() => errors.length > before, { timeoutMs: 5000, intervalMs: 20, message: 'the mismatch is reported' });
    assert.equal(errors.at(-1), 'the TLS certificate and key files do not form a valid pair');
    assert.equal(changes.at(-1)?.cert, second.cert, 'the mismatched pair is not served');
  } finally {
    stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
