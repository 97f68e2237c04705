// Minimal X.509 v3 certificate issuance with node:crypto, so the daemon can make its own CA and serving
// certificate at start without an openssl binary in the runtime image. node:crypto can sign but not build
// certificates, so this file writes the DER by hand: just the ASN.1 types a certificate needs (RFC 5280),
// ECDSA P-256 keys and the extensions TLS clients check (basicConstraints, keyUsage, extendedKeyUsage,
// subjectAltName, key identifiers).
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, content: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), length(content.length), content]);
const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const bits = (b: Buffer, unused = 0): Buffer => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
const explicit = (n: number, content: Buffer): Buffer => tlv(0xa0 | n, content);

function integer(value: Buffer | number): Buffer {
  let b = typeof value === 'number' ? Buffer.from([value]) : value;
  let start = 0;
  while (start < b.length - 1 && b[start] === 0) start++;
  b = b.subarray(start);
  return tlv(0x02, (b[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
  const year = d.getUTCFullYear();
  return year < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

const name = (cn: string): Buffer => seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
  seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

/** keyUsage bits (RFC 5280 4.2.1.3) as a DER named-bit string: trailing zero bits are dropped. */
function keyUsage(usages: number[]): Buffer {
  let byte = 0;
  for (const bit of usages) byte |= 0x80 >> bit;
  let unused = 0;
  while (unused < 7 && ((byte >> unused) & 1) === 0) unused++;
  return bits(Buffer.from([byte]), unused);
}

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail] = ip.split('::');
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.concat(all.map((g) => Buffer.from(g.padStart(4, '0'), 'hex')));
}

function subjectAltName(hosts: string[]): Buffer {
  return seq(...hosts.map((h) => (isIPv4(h) || isIPv6(h) ? tlv(0x87, ipBytes(h)) : tlv(0x82, Buffer.from(h, 'ascii')))));
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

export interface Issued {
  certPem: string;
  keyPem: string;
  key: KeyObject;
  /** Subject key identifier, for the authorityKeyIdentifier of certificates this one signs. */
  keyId: Buffer;
}

export interface IssueOptions {
  commonName: string;
  notBefore: Date;
  notAfter: Date;
  /** Omit for a self-signed CA. */
  issuer?: { commonName: string; key: KeyObject; keyId: Buffer };
  isCA: boolean;
  /** DNS names and IP addresses (subjectAltName) of a serving certificate. */
  hosts?: string[];
}

/** Issues a certificate with a fresh ECDSA P-256 key. */
export function issueCertificate(opts: IssueOptions): Issued {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const keyId = createHash('sha256').update(spki).digest().subarray(0, 20);
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
  const exts = [
    extension('2.5.29.19', true, opts.isCA ? seq(bool(true), integer(0)) : seq()),
    extension('2.5.29.15', true, opts.isCA ? keyUsage([0, 5, 6]) : keyUsage([0])),
    extension('2.5.29.14', false, octets(keyId)),
  ];
  if (opts.issuer) exts.push(extension('2.5.29.35', false, seq(tlv(0x80, opts.issuer.keyId))));
  if (!opts.isCA) exts.push(extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))));
  if (opts.hosts?.length) exts.push(extension('2.5.29.17', false, subjectAltName(opts.hosts)));
  const tbs = seq(
    explicit(0, integer(2)), integer(serial), ECDSA_SHA256, name(opts.issuer?.commonName ?? opts.commonName),
    seq(time(opts.notBefore), time(opts.notAfter)), name(opts.commonName), spki, explicit(3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, opts.issuer?.key ?? privateKey);
  const der = seq(tbs, ECDSA_SHA256, bits(signature));
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return {
    certPem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    key: privateKey,
    keyId,
  };
}
