// The credentials JSON of a GCP source Secret, checked against the daemon's outbound policy
// (util/outbound.ts, docs/security.md) and rebuilt from the fields the daemon knows. google-auth-library
// reads every option under its snake_case name and, when that is absent, under its camelCase name
// (`tokenUrl`, `credentialSource`…), so a JSON is never handed over as written: only the checked fields,
// under their snake_case names, reach the library. Messages name fields, never values.
import { isRecord } from '../util/own.ts';
import { PUBLIC_ONLY, type OutboundPolicy } from '../util/outbound.ts';

export const GOOGLE_UNIVERSE = 'googleapis.com';

/** A parsed, checked credentials JSON of a Secret. */
export type GcpCredentialsJson = Readonly<Record<string, unknown>> & { type: 'service_account' | 'external_account' };

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The public endpoints of each URL field in `universe`; every other host needs --outbound-hosts. */
export function googleHosts(universe: string): { token_uri: string[]; token_url: string[]; service_account_impersonation_url: string[] } {
  return {
    // Keys from before oauth2.googleapis.com name the older host.
    token_uri: [`oauth2.${universe}`, ...(universe === GOOGLE_UNIVERSE ? ['accounts.google.com'] : [])],
    token_url: [`sts.${universe}`],
    service_account_impersonation_url: [`iamcredentials.${universe}`],
  };
}

/** `fields` of `from` that are present, as they are. */
function pick(from: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(fields.filter((f) => Object.hasOwn(from, f) && from[f] !== undefined).map((f) => [f, from[f]]));
}

interface Checked { json: Record<string, unknown>; problems: (string | undefined)[] }

function serviceAccount(json: Record<string, unknown>, universe: string, policy: OutboundPolicy): Checked {
  const tokenUri = json.token_uri;
  return {
    json: pick(json, ['type', 'client_email', 'private_key', 'private_key_id', 'token_uri', 'universe_domain']),
    problems: [
      str(json.client_email) ? undefined : 'service_account key has no client_email',
      str(json.private_key) ? undefined : 'service_account key has no private_key',
      tokenUri === undefined ? undefined : policy.urlProblem('token_uri', tokenUri, googleHosts(universe).token_uri),
    ],
  };
}

const FORMAT_TYPES = new Set(['text', 'json']);

/** credential_source.format: its known fields, or a problem. */
function formatOf(format: unknown): { format?: Record<string, unknown>; problem?: string } {
  if (format === undefined) return {};
  const picked = isRecord(format) ? pick(format, ['type', 'subject_token_field_name']) : undefined;
  const type = picked?.type ?? 'text';
  if (!picked || typeof type !== 'string' || !FORMAT_TYPES.has(type)) return { problem: 'credential_source.format.type must be text or json' };
  return { format: picked };
}

/** AWS's variant (environment_id aws1): its metadata URLs are requested, so each passes the policy. */
function awsSource(source: Record<string, unknown>, policy: OutboundPolicy): Checked {
  const urls = ['region_url', 'url', 'imdsv2_session_token_url'].filter((f) => source[f] !== undefined);
  return {
    json: pick(source, ['environment_id', 'region_url', 'url', 'imdsv2_session_token_url', 'regional_cred_verification_url']),
    problems: urls.map((f) => policy.urlProblem(`credential_source.${f}`, source[f], [])),
  };
}

/** The subject-token source: a file or a URL (identity pool), or AWS's URLs. */
function credentialSource(source: unknown, policy: OutboundPolicy): Checked {
  if (!isRecord(source)) return { json: {}, problems: ['external_account config has no credential_source'] };
  if (source.executable !== undefined) return { json: {}, problems: ['executable-sourced external_account configs are not supported'] };
  if (source.certificate !== undefined) return { json: {}, problems: ['certificate-sourced external_account configs are not supported'] };
  if (typeof source.environment_id === 'string' && source.environment_id.startsWith('aws')) return awsSource(source, policy);
  const named = ['file', 'url'].filter((f) => source[f] !== undefined);
  if (named.length !== 1) return { json: {}, problems: ['credential_source must name exactly one of file and url'] };
  const { format, problem: formatProblem } = formatOf(source.format);
  const headers = source.headers;
  const headersProblem = headers !== undefined && (!isRecord(headers) || Object.values(headers).some((v) => typeof v !== 'string'))
    ? 'credential_source.headers must map names to strings' : undefined;
  return {
    json: { ...pick(source, ['file', 'url', 'headers']), ...(format ? { format } : {}) },
    problems: [
      formatProblem, headersProblem,
      source.file === undefined ? undefined : policy.fileProblem('credential_source.file', source.file),
      source.url === undefined ? undefined : policy.urlProblem('credential_source.url', source.url, []),
    ],
  };
}

function externalAccount(json: Record<string, unknown>, universe: string, policy: OutboundPolicy): Checked {
  const hosts = googleHosts(universe);
  const source = credentialSource(json.credential_source, policy);
  const impersonation = json.service_account_impersonation_url;
  return {
    json: {
      ...pick(json, [
        'type', 'audience', 'subject_token_type', 'token_url', 'service_account_impersonation_url', 'service_account_impersonation',
        'client_id', 'client_secret', 'quota_project_id', 'workforce_pool_user_project', 'universe_domain',
      ]),
      // The library's default STS for a config without token_url; named so it is the one checked.
      token_url: json.token_url ?? `https://sts.${universe}/v1/token`,
      credential_source: source.json,
    },
    problems: [
      str(json.audience) ? undefined : 'external_account config has no audience',
      policy.urlProblem('token_url', json.token_url ?? `https://sts.${universe}/v1/token`, hosts.token_url),
      impersonation === undefined ? undefined : policy.urlProblem('service_account_impersonation_url', impersonation, hosts.service_account_impersonation_url),
      ...source.problems,
    ],
  };
}

/**
 * Parses and checks the Secret's JSON for the daemon's `universe` and outbound `policy`, and returns the
 * JSON rebuilt from its checked fields. Throws a message naming fields, never quoting the JSON.
 */
export function parseGcpCredentials(raw: string, universe = GOOGLE_UNIVERSE, policy: OutboundPolicy = PUBLIC_ONLY): GcpCredentialsJson {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error('credentials JSON is not valid JSON');
  }
  if (!isRecord(json)) throw new Error('credentials JSON is not an object');
  // google-auth-library's universe for a JSON without universe_domain is googleapis.com. The universe is
  // the daemon's, never the JSON's: else the JSON would choose which hosts count as Google's.
  if ((json.universe_domain ?? GOOGLE_UNIVERSE) !== universe) throw new Error(`universe_domain must be ${universe}`);
  let checked: Checked;
  if (json.type === 'service_account') checked = serviceAccount(json, universe, policy);
  else if (json.type === 'external_account') checked = externalAccount(json, universe, policy);
  else checked = { json: {}, problems: ['credentials JSON must be of type service_account or external_account'] };
  const problems = checked.problems.filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return checked.json as GcpCredentialsJson;
}
