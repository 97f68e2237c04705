import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { generateTls, loadTls, resolveTls, servingHosts } from '../../../src/builder/tls.ts';
import { FakeClock } from '../../../src/util/clock.ts';

test('a generated CA signs a serving certificate for the requested names', () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const tls = generateTls({ hosts: servingHosts({ name: 'pullsecret-sync', namespace: 'ops' }), validityDays: 30, clock });
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

test('file-based TLS needs both files; a missing file is named without content', () => {
  assert.throws(() => resolveTls({ certFile: '/nonexistent/tls.crt' }, []), /needs both a certificate file and a key file/);
  assert.throws(() => loadTls({ certFile: '/nonexistent/tls.crt', keyFile: '/nonexistent/tls.key' }), /^Error: cannot read TLS file \/nonexistent\/tls\.crt$/);
  assert.ok(resolveTls({}, ['localhost']).ca);
});
