// The ECR provider against moto (ECR and STS): static keys, AssumeRole on top of them, the daemon's own
// identity through IRSA web identity, the shared provider contract, and the token cache's promise of one
// GetAuthorizationToken call per identity however many sources share it. Who the provider authenticated
// as is read back with STS GetCallerIdentity, which moto answers from the access key ID alone.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { EcrSource } from '../../src/api/v1alpha1/types.ts';
import { EcrProvider, defaultEcrClient, type AwsCredentials, type EcrApi, type EcrClientFactory } from '../../src/credentials/ecr.ts';
import { TokenCache } from '../../src/credentials/token-cache.ts';
import { realClock } from '../../src/util/clock.ts';
import { credentialProviderContract } from '../contract/credential-provider.ts';
import { withEnv } from '../support/env.ts';
import { LOCAL_OUTBOUND } from '../support/outbound.ts';
import { currentTestbed } from '../testbed/testbed.ts';

const moto = currentTestbed().moto?.endpoint ?? assert.fail('the testbed runs moto');
const KEYS = { accessKeyID: 'AKIAIOSFODNN7EXAMPLE', secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const REGION = 'eu-central-1';
const tmp = mkdtempSync(join(tmpdir(), 'credentials-ecr-'));
after(() => { rmSync(tmp, { recursive: true, force: true }); });

/** An ECR client factory that records the credentials it was given and counts API calls. */
function recordingClient(): { factory: EcrClientFactory; calls: () => number; credentials: () => AwsCredentials | undefined } {
  let calls = 0;
  let credentials: AwsCredentials | undefined;
  const factory: EcrClientFactory = (config) => {
    credentials = config.credentials;
    const client = defaultEcrClient(config);
    const send = (command: Parameters<EcrApi['send']>[0], options?: { abortSignal?: AbortSignal }): Promise<unknown> => {
      calls++;
      return client.send(command, options);
    };
    return { send: send as EcrApi['send'], destroy: () => client.destroy?.() };
  };
  return { factory, calls: () => calls, credentials: () => credentials };
}

/** The ARN moto reports for the credentials an ECR client was given. */
async function callerArn(credentials: AwsCredentials | undefined): Promise<string> {
  const resolved = typeof credentials === 'function' ? await credentials() : credentials;
  assert.ok(resolved, 'the client had credentials');
  const response = await fetch(`${moto}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=${resolved.accessKeyId}/20250101/${REGION}/sts/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: 'Action=GetCallerIdentity&Version=2011-06-15',
  });
  const text = await response.text();
  return /<Arn>([^<]+)<\/Arn>/.exec(text)?.[1] ?? assert.fail(`no Arn in ${text}`);
}

/** No ambient AWS identity but the one a test sets up: no env keys, profiles or instance metadata. */
const NO_AMBIENT = {
  AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined,
  AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
  AWS_CONFIG_FILE: join(tmp, 'no-config'), AWS_SHARED_CREDENTIALS_FILE: join(tmp, 'no-credentials'), AWS_EC2_METADATA_DISABLED: 'true',
};

test('static keys from the Secret fetch a token for the listed accounts', async () => {
  const rec = recordingClient();
  const provider = new EcrProvider({ ecrClient: rec.factory, outbound: LOCAL_OUTBOUND });
  const source: EcrSource = { region: REGION, endpoint: moto, accountIDs: ['123456789012', '210987654321'] };
  const fetched = await provider.fetch(source, KEYS);
  assert.deepEqual(fetched.entries.map((e) => e.registry), [
    '123456789012.dkr.ecr.eu-central-1.amazonaws.com', '210987654321.dkr.ecr.eu-central-1.amazonaws.com',
  ]);
  for (const e of fetched.entries) {
    assert.equal(e.username, 'AWS');
    assert.equal(Buffer.from(e.auth, 'base64').toString(), `AWS:${e.password ?? ''}`);
  }
  assert.equal(rec.calls(), 1);
  const given = rec.credentials();
  const resolved = typeof given === 'function' ? await given() : given;
  assert.equal(resolved?.accessKeyId, KEYS.accessKeyID, "the Secret's keys, not an ambient identity");
});

test('without accountIDs the caller account from the response is used; AWS_ENDPOINT_URL_ECR aims the SDK', async () => {
  const provider = new EcrProvider();
  const fetched = await withEnv({ AWS_ENDPOINT_URL_ECR: moto }, () => provider.fetch({ region: 'us-west-2' }, KEYS));
  assert.deepEqual(fetched.entries.map((e) => e.registry), ['123456789012.dkr.ecr.us-west-2.amazonaws.com']);
});

test('roleARN is assumed with STS on top of the static keys', async () => {
  const rec = recordingClient();
  const provider = new EcrProvider({ ecrClient: rec.factory, outbound: LOCAL_OUTBOUND });
  const source: EcrSource = { region: REGION, endpoint: moto, roleARN: 'arn:aws:iam::123456789012:role/puller' };
  await withEnv({ AWS_ENDPOINT_URL_STS: moto }, async () => {
    const fetched = await provider.fetch(source, KEYS);
    assert.equal(fetched.entries.length, 1);
    assert.equal(await callerArn(rec.credentials()), 'arn:aws:sts::123456789012:assumed-role/puller/pullsecret-sync');
  });
});

test("without a Secret the daemon's own identity is used: IRSA web identity through the node provider chain", async () => {
  const tokenFile = join(tmp, 'web-identity-token');
  writeFileSync(tokenFile, 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cHMtc3luYzpkYWVtb24ifQ.c2ln');
  const env = {
    ...NO_AMBIENT, AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/irsa-daemon',
    AWS_ROLE_SESSION_NAME: 'irsa-session', AWS_ENDPOINT_URL_STS: moto,
  };
  await withEnv(env, async () => {
    const rec = recordingClient();
    const provider = new EcrProvider({ ecrClient: rec.factory, outbound: LOCAL_OUTBOUND });
    const fetched = await provider.fetch({ region: REGION, endpoint: moto }, undefined);
    assert.equal(fetched.entries.length, 1);
    assert.equal(await callerArn(rec.credentials()), 'arn:aws:sts::123456789012:assumed-role/irsa-daemon/irsa-session');
  });
  assert.equal(process.env.AWS_WEB_IDENTITY_TOKEN_FILE, undefined, 'the environment is restored');
});

test('a TokenCache shared by 20 sources with one identity calls GetAuthorizationToken once', async () => {
  const rec = recordingClient();
  const provider = new EcrProvider({ ecrClient: rec.factory, outbound: LOCAL_OUTBOUND });
  const cache = new TokenCache({ clock: realClock });
  // Twenty resources naming the same ECR registry through different Secrets with equal keys.
  const sources: EcrSource[] = Array.from({ length: 20 }, (_, i) => ({
    region: REGION, endpoint: moto, accountIDs: ['123456789012'], credentialsSecret: { name: `aws-keys-${String(i)}`, namespace: 'team' },
  }));
  const states = await Promise.all(sources.map((s) => cache.get(provider, s, { ...KEYS })));
  assert.equal(rec.calls(), 1);
  for (const s of states) {
    assert.equal(s.error, undefined);
    assert.deepEqual(s.entries.map((e) => e.registry), ['123456789012.dkr.ecr.eu-central-1.amazonaws.com']);
  }
  await Promise.all(sources.map((s) => cache.get(provider, s, { ...KEYS })));
  assert.equal(rec.calls(), 1, 'moto tokens arrive expired: the floor, not a loop, decides the next fetch');
});

credentialProviderContract('ECR provider against moto', async () => {
  // A port that was just free: nothing listens there, so the failing fetch is refused at once.
  const { createServer } = await import('node:net');
  const closedPort = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => { resolve(typeof address === 'object' && address ? address.port : 1); });
    });
  });
  const provider = new EcrProvider({ ecrClient: (config) => defaultEcrClient(config), outbound: LOCAL_OUTBOUND });
  return {
    provider, source: { region: REGION, endpoint: moto }, secret: KEYS,
    failing: { provider, source: { region: REGION, endpoint: `http://127.0.0.1:${String(closedPort)}` }, secret: KEYS },
    secretValues: Object.values(KEYS),
  };
});
