import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GetAuthorizationTokenCommandOutput } from '@aws-sdk/client-ecr';
import type { EcrSource } from '../../../src/api/v1alpha1/types.ts';
import {
  EcrProvider, ecrRegistryHost, ecrSourceFromImpsSecret, ECR_SECRET_TYPE, IMPS_ECR_SECRET_TYPE, ROLE_SESSION_NAME,
  type AwsCredentials, type AwsCredentialsFactory, type EcrClientFactory,
} from '../../../src/credentials/ecr.ts';
import { OutboundPolicy } from '../../../src/util/outbound.ts';
import { credentialProviderContract } from '../../contract/credential-provider.ts';

const TOKEN = Buffer.from('AWS:the-ecr-password').toString('base64');
const EXPIRES = new Date('2025-01-01T12:00:00Z');
const KEYS = { accessKeyID: 'AKIAFAKEFAKEFAKE', secretKey: 'fake/secret+key', sessionToken: 'fake-session' };

interface Recorded {
  configs: { region: string; endpoint?: string; credentials?: AwsCredentials }[];
  credentialInputs: Parameters<AwsCredentialsFactory>[0][];
  destroyed: number;
}

function fakes(respond: () => GetAuthorizationTokenCommandOutput | Error, outbound?: OutboundPolicy): { provider: EcrProvider; rec: Recorded } {
  const rec: Recorded = { configs: [], credentialInputs: [], destroyed: 0 };
  const ecrClient: EcrClientFactory = (config) => {
    rec.configs.push(config);
    return {
      send: () => {
        const r = respond();
        return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
      },
      destroy: () => { rec.destroyed++; },
    };
  };
  const credentials: AwsCredentialsFactory = (input) => {
    rec.credentialInputs.push(input);
    return { accessKeyId: 'from-factory', secretAccessKey: 'x' };
  };
  return { provider: new EcrProvider({ ecrClient, credentials, ...(outbound ? { outbound } : {}) }), rec };
}

const ok = (proxyEndpoint = 'https://123456789012.dkr.ecr.eu-central-1.amazonaws.com'): GetAuthorizationTokenCommandOutput => ({
  $metadata: {}, authorizationData: [{ authorizationToken: TOKEN, expiresAt: EXPIRES, proxyEndpoint }],
});

test('registry hosts follow endpoint type and partition', () => {
  const cases: { region: string; type?: EcrSource['endpointType']; want: string }[] = [
    { region: 'eu-central-1', want: '123456789012.dkr.ecr.eu-central-1.amazonaws.com' },
    { region: 'us-east-1', type: 'fips', want: '123456789012.dkr.ecr-fips.us-east-1.amazonaws.com' },
    { region: 'us-gov-west-1', type: 'fips', want: '123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com' },
    { region: 'us-west-2', type: 'dualstack', want: '123456789012.dkr-ecr.us-west-2.on.aws' },
    { region: 'cn-north-1', want: '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn' },
    { region: 'cn-northwest-1', type: 'standard', want: '123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn' },
  ];
  for (const c of cases) assert.equal(ecrRegistryHost('123456789012', c.region, c.type), c.want, JSON.stringify(c));
});

test('fetch emits one entry per account with the token, user AWS and the decoded password', async () => {
  const { provider, rec } = fakes(() => ok());
  const source: EcrSource = { region: 'us-east-1', accountIDs: ['210987654321', '123456789012', '123456789012'], endpointType: 'fips' };
  const fetched = await provider.fetch(source, undefined);
  assert.deepEqual(fetched.entries.map((e) => e.registry), [
    '123456789012.dkr.ecr-fips.us-east-1.amazonaws.com', '210987654321.dkr.ecr-fips.us-east-1.amazonaws.com',
  ]);
  for (const e of fetched.entries) assert.deepEqual({ ...e, registry: '' }, { registry: '', auth: TOKEN, username: 'AWS', password: 'the-ecr-password' });
  assert.deepEqual(fetched.expiresAt, EXPIRES);
  assert.equal(rec.configs.length, 1, 'one GetAuthorizationToken call');
  assert.equal(rec.destroyed, 1, 'the client is released');
});

test('without accountIDs the account of the proxy endpoint is used', async () => {
  const { provider } = fakes(() => ok('https://987654321098.dkr.ecr.cn-north-1.amazonaws.com.cn'));
  const fetched = await provider.fetch({ region: 'cn-north-1' }, undefined);
  assert.deepEqual(fetched.entries.map((e) => e.registry), ['987654321098.dkr.ecr.cn-north-1.amazonaws.com.cn']);
});

test('static keys, role and endpoint reach the factories; no Secret means the ambient identity', async () => {
  const { provider, rec } = fakes(() => ok(), new OutboundPolicy({ hosts: ['127.0.0.1:5000'] }));
  const role = 'arn:aws:iam::123456789012:role/puller';
  await provider.fetch({ region: 'eu-west-1', roleARN: role, endpoint: 'http://127.0.0.1:5000' }, KEYS);
  await provider.fetch({ region: 'eu-west-1' }, undefined);
  assert.deepEqual(rec.credentialInputs, [
    { region: 'eu-west-1', roleARN: role, staticKeys: { accessKeyId: KEYS.accessKeyID, secretAccessKey: KEYS.secretKey, sessionToken: KEYS.sessionToken } },
    { region: 'eu-west-1' },
  ]);
  assert.equal(rec.configs[0]?.endpoint, 'http://127.0.0.1:5000');
  assert.equal(rec.configs[1]?.endpoint, undefined);
  assert.equal(ROLE_SESSION_NAME, 'pullsecret-sync');
});

test('fetch failures name the region and never the keys', async () => {
  const { provider } = fakes(() => Object.assign(new Error(`bad signature for ${KEYS.accessKeyID} / ${KEYS.secretKey}`), { name: 'SignatureDoesNotMatch' }));
  await assert.rejects(provider.fetch({ region: 'eu-west-1' }, KEYS), (err: Error) => {
    assert.match(err.message, /^ECR GetAuthorizationToken in eu-west-1 failed: SignatureDoesNotMatch: /);
    for (const v of Object.values(KEYS)) assert.ok(!err.message.includes(v), v);
    assert.equal(err.cause, undefined, 'no cause that could carry the original message');
    return true;
  });
});

test('a Secret without keys, a malformed token or an unknown account fail clearly', async () => {
  const cases: { name: string; respond: () => GetAuthorizationTokenCommandOutput; secret?: Record<string, string>; want: RegExp }[] = [
    { name: 'secret without keys', respond: () => ok(), secret: { region: 'x' }, want: /needs the keys accessKeyID and secretKey/ },
    { name: 'no data', respond: () => ({ $metadata: {} }), want: /no well-formed authorization token/ },
    { name: 'token without colon', respond: () => ({ $metadata: {}, authorizationData: [{ authorizationToken: Buffer.from('nocolon').toString('base64') }] }), want: /no well-formed/ },
    { name: 'no account', respond: () => ok('https://example.com'), want: /response names no account/ },
  ];
  for (const c of cases) {
    const { provider } = fakes(c.respond);
    await assert.rejects(provider.fetch({ region: 'eu-west-1' }, c.secret), c.want, c.name);
  }
});

test('identity names every input of the token, hashes the keys and never contains them', () => {
  const { provider } = fakes(() => ok());
  const base: EcrSource = { region: 'eu-west-1', accountIDs: ['210987654321', '123456789012'] };
  const id = provider.identity(base, KEYS);
  for (const v of Object.values(KEYS)) assert.ok(!id.includes(v), v);
  assert.equal(provider.identity({ ...base, credentialsSecret: { name: 'other', namespace: 'ns' } }, KEYS), id, 'equal keys share a token');
  // One token serves every account the principal may pull from: accounts and host form only say where it goes.
  assert.equal(provider.identity({ ...base, accountIDs: ['123456789012'] }, KEYS), id, 'accounts are no part of the identity');
  assert.equal(provider.identity({ region: base.region, endpointType: 'fips' }, KEYS), id, 'nor is the registry host form');
  const variants: [EcrSource, Record<string, string> | undefined][] = [
    [{ ...base, region: 'eu-west-2' }, KEYS],
    [{ ...base, roleARN: 'arn:aws:iam::123456789012:role/r' }, KEYS],
    [{ ...base, endpoint: 'http://127.0.0.1:1' }, KEYS], [base, { ...KEYS, secretKey: 'other' }], [base, undefined],
  ];
  const ids = new Set([id, ...variants.map(([s, k]) => provider.identity(s, k))]);
  assert.equal(ids.size, variants.length + 1, 'every input changes the identity');
});

test('validate checks region, account IDs, role ARN, endpoint type and endpoint', () => {
  const { provider } = fakes(() => ok());
  assert.deepEqual(provider.validate({ region: 'eu-central-1', accountIDs: ['123456789012'], roleARN: 'arn:aws-cn:iam::123456789012:role/a/b' }), []);
  const cases: [EcrSource, RegExp][] = [
    [{ region: '' }, /region is required/],
    [{ region: 'Frankfurt' }, /not an AWS region name/],
    [{ region: 'eu-central-1', accountIDs: ['12345'] }, /account ID "12345" is not 12 digits/],
    [{ region: 'eu-central-1', roleARN: 'puller' }, /not an IAM role ARN/],
    [{ region: 'eu-central-1', endpointType: 'bogus' as 'fips' }, /endpointType "bogus"/],
    [{ region: 'cn-north-1', endpointType: 'dualstack' }, /not offered in China/],
    [{ region: 'eu-central-1', endpoint: 'not a url' }, /not a URL/],
    [{ region: 'eu-central-1', endpoint: 'ftp://x' }, /not an http\(s\) URL/],
    [{ region: 'eu-central-1', endpoint: 'https://ecr.example.com' }, /^endpoint names a host outside api\.ecr\.eu-central-1\.amazonaws\.com, .* that --outbound-hosts does not list$/],
    [{ region: 'eu-central-1', endpoint: 'http://127.0.0.1:5000' }, /^endpoint names a host outside/],
    [{ region: 'eu-central-1', endpoint: 'http://api.ecr.eu-central-1.amazonaws.com' }, /^endpoint must be https on the default port$/],
    [{ region: 'eu-central-1', endpoint: 'https://api.ecr.eu-west-1.amazonaws.com' }, /^endpoint names a host outside/],
  ];
  for (const endpoint of ['https://api.ecr.eu-central-1.amazonaws.com', 'https://ecr-fips.eu-central-1.amazonaws.com/', 'https://ecr.eu-central-1.api.aws']) {
    assert.deepEqual(provider.validate({ region: 'eu-central-1', endpoint }), [], endpoint);
  }
  for (const [source, want] of cases) {
    const problems = provider.validate(source);
    assert.equal(problems.length, 1, JSON.stringify({ source, problems }));
    assert.match(problems[0] ?? '', want);
  }
});

test('an endpoint the outbound policy refuses reaches no client', async () => {
  const { provider, rec } = fakes(() => ok());
  await assert.rejects(provider.fetch({ region: 'eu-central-1', endpoint: 'http://127.0.0.1:9901/' }, KEYS),
    /^Error: ECR GetAuthorizationToken in eu-central-1 refused: endpoint names a host outside .* that --outbound-hosts does not list$/);
  assert.deepEqual(rec.configs, []);
});

test('IMPS ECR Secrets become an ECR source; problems name keys, never values', () => {
  assert.equal(IMPS_ECR_SECRET_TYPE, 'banzaicloud.io/aws-ecr-login-config');
  assert.equal(ECR_SECRET_TYPE, 'pullsecret-sync.dev/aws-ecr-login-config');
  const full = ecrSourceFromImpsSecret({ ...KEYS, region: 'us-east-1', accountID: ' 123456789012 ', roleArn: 'arn:aws:iam::123456789012:role/x' });
  assert.deepEqual(full, { source: { region: 'us-east-1', accountIDs: ['123456789012'], roleARN: 'arn:aws:iam::123456789012:role/x' }, problems: [] });
  assert.deepEqual(ecrSourceFromImpsSecret({ ...KEYS, region: 'us-east-1' }), { source: { region: 'us-east-1' }, problems: [] }, 'accountID optional');
  const missing = ecrSourceFromImpsSecret({ secretKey: KEYS.secretKey });
  assert.deepEqual(missing.problems, ['key accessKeyID is missing', 'key region is missing']);
  const bad = ecrSourceFromImpsSecret({ ...KEYS, region: 'us-east-1', accountID: '123456789' });
  assert.deepEqual(bad.problems, ['account ID "123456789" is not 12 digits']);
  for (const p of [...missing.problems, ...bad.problems]) for (const v of Object.values(KEYS)) assert.ok(!p.includes(v));
});

credentialProviderContract<EcrSource>('ECR provider with a fake ECR client', () => {
  const good = fakes(() => ok());
  const failing = fakes(() => new Error(`denied for ${KEYS.accessKeyID}`));
  return Promise.resolve({
    provider: good.provider, source: { region: 'eu-central-1', accountIDs: ['123456789012'] }, secret: KEYS,
    failing: { provider: failing.provider, source: { region: 'eu-central-1' }, secret: KEYS },
    secretValues: Object.values(KEYS), placement: ['accountIDs' as const],
  });
});
