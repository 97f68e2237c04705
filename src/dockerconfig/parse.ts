// Reads the credentials out of a source Secret of type kubernetes.io/dockerconfigjson or
// kubernetes.io/dockercfg. Problems name registries and fields, never values: they end up in status and
// Events. Pure.
import { isRecord, ownValue } from '../util/own.ts';
import { hasUserInfo, keyLengthProblem, normalizeRegistryKey } from './registry-key.ts';

/** One registry's credentials, as written under `auths`. */
export interface AuthEntry {
  /** The canonical registry key (see normalizeRegistryKey). */
  registry: string;
  /** base64 of `username:password`; always present. */
  auth: string;
  username?: string;
  password?: string;
  email?: string;
  identitytoken?: string;
}

export interface Parsed {
  entries: AuthEntry[];
  problems: string[];
  /** Other spellings of a registry this source already names, by position: `r.io (auths key #2)`. */
  shadowed?: string[];
}

/** An `auth` value: base64 of `username:password`. */
export const encodeAuth = (username: string, password: string): string => Buffer.from(`${username}:${password}`).toString('base64');

/** The login inside an `auth` value (or an ECR token), or undefined unless it is base64 of `username:password`. */
export function decodeAuth(auth: string): { username: string; password: string } | undefined {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0 || Buffer.from(text, 'utf8').toString('base64').replace(/=+$/, '') !== auth.replace(/=+$/, '')) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The entry for a username and password (a cloud token as password). */
export const loginEntry = (registry: string, username: string, password: string): AuthEntry =>
  ({ registry, auth: encodeAuth(username, password), username, password });

export const DOCKER_CONFIG_JSON_TYPE = 'kubernetes.io/dockerconfigjson';
export const DOCKER_CFG_TYPE = 'kubernetes.io/dockercfg';

const KEYS = new Map([[DOCKER_CONFIG_JSON_TYPE, '.dockerconfigjson'], [DOCKER_CFG_TYPE, '.dockercfg']]);

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);


/**
 * One entry of `auths`, or a problem. A key that is no registry is named by its position (`where`),
 * never by its text: it may hold anything, credentials included.
 */
export function toEntry(rawKey: string, value: unknown, where = 'the key'): AuthEntry | string {
  const tooLong = keyLengthProblem(rawKey);
  if (tooLong) return `${where} ${tooLong}`;
  if (hasUserInfo(rawKey)) return `${where} carries user information (user:password@); put credentials in the entry, not the key`;
  const registry = normalizeRegistryKey(rawKey);
  if (!registry) return `${where} names no registry`;
  if (!isRecord(value)) return `entry for ${registry} is not an object`;
  const username = str(value.username);
  const password = str(value.password);
  let auth = str(value.auth);
  if (auth !== undefined && !decodeAuth(auth)) return `entry for ${registry} has an auth field that is not base64 of user:password`;
  if (auth === undefined && username !== undefined && password !== undefined) {
    auth = encodeAuth(username, password);
  }
  if (auth === undefined) return `entry for ${registry} has neither auth nor username and password`;
  const optional = { username, password, email: str(value.email), identitytoken: str(value.identitytoken) };
  const entry: AuthEntry = { registry, auth };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) Object.assign(entry, { [k]: v });
  return entry;
}

/**
 * Entries of a docker config's `auths` object (or of a legacy dockercfg, which is that object itself).
 * Keys are numbered in document order (#1 first). Several spellings of one registry: the key already in
 * canonical form wins (`r.io`, `https://index.docker.io/v1/`), else the first in document order; the
 * others are reported as shadowed. Entries come out sorted by registry.
 */
export function parseAuths(auths: Record<string, unknown>): Parsed {
  const winners = new Map<string, { entry: AuthEntry; canonical: boolean; position: number }>();
  const problems: string[] = [];
  const shadowed: { registry: string; position: number }[] = [];
  Object.keys(auths).forEach((key, i) => {
    const entry = toEntry(key, auths[key], `auths key #${String(i + 1)}`);
    if (typeof entry === 'string') {
      problems.push(entry);
      return;
    }
    const candidate = { entry, canonical: key.trim() === entry.registry, position: i + 1 };
    const won = winners.get(entry.registry);
    const [keep, lose] = !won ? [candidate, undefined] : candidate.canonical && !won.canonical ? [candidate, won] : [won, candidate];
    winners.set(entry.registry, keep);
    if (lose) shadowed.push({ registry: entry.registry, position: lose.position });
  });
  const entries = [...winners.values()].map((w) => w.entry).sort((a, b) => (a.registry < b.registry ? -1 : a.registry > b.registry ? 1 : 0));
  shadowed.sort((a, b) => a.position - b.position);
  return { entries, problems, shadowed: shadowed.map((s) => `${s.registry} (auths key #${String(s.position)})`) };
}

/**
 * The entries of a `.dockerconfigjson` value (base64) the daemon wrote, by registry order; undefined when
 * it is not JSON with an `auths` object. For reading back our own payloads, so problems are not reported.
 */
export function payloadEntries(payload: string): AuthEntry[] | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  return isRecord(doc) && isRecord(doc.auths) ? parseAuths(doc.auths).entries : undefined;
}

/** `data` is the Secret's `data` map (base64 values). */
export function parseSourceSecret(type: string, data: Readonly<Record<string, string>>): Parsed {
  const key = KEYS.get(type);
  if (!key) return { entries: [], problems: [`type "${type}" is not ${DOCKER_CONFIG_JSON_TYPE} or ${DOCKER_CFG_TYPE}`] };
  const encoded = ownValue(data, key);
  if (encoded === undefined) return { entries: [], problems: [`key ${key} is missing`] };
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch {
    return { entries: [], problems: [`key ${key} is not valid JSON`] };
  }
  if (!isRecord(doc)) return { entries: [], problems: [`key ${key} is not a JSON object`] };
  if (type === DOCKER_CFG_TYPE) return parseAuths(doc);
  if (!isRecord(doc.auths)) return { entries: [], problems: [`key ${key} has no "auths" object`] };
  return parseAuths(doc.auths);
}
