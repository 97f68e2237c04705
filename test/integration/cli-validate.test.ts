// `validate` and the real API server agree: one corpus of good and bad ImagePullSecrets goes to both
// `validate` and a dry-run create (fieldValidation=Strict, as kubectl apply sends it). The API server
// knows only the CRD's schema and CEL rules, so for a resource whose only problems are semantic (what
// the daemon reports as InvalidSpec) the assertion is that validate flags it and the API server accepts
// it; for every other resource both accept it or both reject it.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { scratchDir } from '../support/scratch.ts';
import { stringify } from 'yaml';
import { checkResource } from '../../src/api/v1alpha1/resource-check.ts';
import { validateCommand } from '../../src/cli/validate/command.ts';
import { KubeApiError } from '../../src/kube/rest.ts';
import { rest } from '../support/cluster.ts';
import { installCrd } from '../support/daemon.ts';
import { adminKubeConfig } from '../testbed/clients.ts';

type Verdict = 'valid' | 'rejected' | 'semantic';
const creds = { credentials: [{ name: 'hub', namespace: 'registry-access' }] };
const secret = { secret: { name: 'pull' } };
const base = { registry: creds, target: secret };

/** name -> [spec (or a whole object override), what validate should say]. */
const corpus: [string, Record<string, unknown>, Verdict][] = [
  ['minimal', base, 'valid'],
  ['everything', {
    registry: { ...creds, ecr: [{ region: 'eu-central-1', accountIDs: ['123456789012'], roleARN: 'arn:aws:iam::123456789012:role/r', endpointType: 'fips' }],
      gcp: [{ registries: ['europe-docker.pkg.dev'], credentialsSecret: { name: 'gcp', namespace: 'ra', key: 'k.json' } }],
      azure: [{ registry: 'r.azurecr.io', tenantID: 't', clientID: 'c' }] },
    target: { namespaces: { names: ['team-a'], labels: [{ matchLabels: { a: 'b' } }, { matchExpressions: [{ key: 'x', operator: 'Exists' }] }],
      annotations: [{ matchAnnotations: { 'sidecar.istio.io/inject': 'any value at all' } }] },
    namespacesWithPods: { labels: [{}], annotations: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['v w'] }] }] },
    secret: { name: 'pull', labels: { l: 'v' }, annotations: { a: 'v' } }, serviceAccounts: { names: ['*'] }, pods: { inject: true } },
    builder: { serviceAccounts: [{ namespace: 'ci', name: '*' }], repositories: ['r.io/builds/'],
      ecrRepositoryCreation: { enabled: true, imageTagMutability: 'IMMUTABLE', accessPolicy: '{}', tags: [{ key: 't', value: '' }] } },
  }, 'valid'],
  ['no-source', { ...base, registry: {} }, 'rejected'],
  ['in-without-values', { ...base, target: { ...secret, namespaces: { labels: [{ matchExpressions: [{ key: 'a', operator: 'In' }] }] } } }, 'rejected'],
  ['exists-with-values', { ...base, target: { ...secret, namespaces: { labels: [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }] } } }, 'rejected'],
  ['unknown-operator', { ...base, target: { ...secret, namespaces: { labels: [{ matchExpressions: [{ key: 'a', operator: 'Maybe' }] }] } } }, 'rejected'],
  ['unknown-field', { ...base, target: { ...secret, namespacez: {} } }, 'rejected'],
  ['empty-secret-name', { ...base, target: { secret: { name: '' } } }, 'rejected'],
  ['no-target-secret', { ...base, target: {} }, 'rejected'],
  ['bad-account', { registry: { ecr: [{ region: 'r', accountIDs: ['abc'] }] }, target: secret }, 'rejected'],
  ['bad-role', { registry: { ecr: [{ region: 'r', roleARN: 'role' }] }, target: secret }, 'rejected'],
  ['long-namespace-name', { ...base, target: { ...secret, namespaces: { names: ['n'.repeat(64)] } } }, 'rejected'],
  ['names-not-a-list', { ...base, target: { ...secret, namespaces: { names: 'team-a' } } }, 'rejected'],
  ['bad-endpoint-type', { registry: { ecr: [{ region: 'r', endpointType: 'weird' }] }, target: secret }, 'rejected'],
  ['gcp-no-registries', { registry: { gcp: [{ registries: [] }] }, target: secret }, 'rejected'],
  ['builder-no-accounts', { ...base, builder: { repositories: ['r.io/'] } }, 'rejected'],
  ['bad-mutability', { ...base, builder: { serviceAccounts: [{ namespace: 'ci', name: 'k' }], ecrRepositoryCreation: { enabled: true, imageTagMutability: 'SOMETIMES' } } }, 'rejected'],
  ['inject-not-boolean', { ...base, target: { ...secret, pods: { inject: 'yes' } } }, 'rejected'],
  ['pods-without-inject', { ...base, target: { ...secret, pods: {} } }, 'rejected'],
  ['no-spec', { apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: 'no-spec' } }, 'rejected'],
  ['bad-source-namespace', { ...base, registry: { credentials: [{ name: 'hub', namespace: 'Not_A_Namespace' }] } }, 'semantic'],
  ['bad-label-key', { ...base, target: { ...secret, namespaces: { labels: [{ matchLabels: { 'bad key!': 'v' } }] } } }, 'semantic'],
  ['upper-case-secret', { ...base, target: { secret: { name: 'Pull' } } }, 'semantic'],
  ['bad-endpoint', { registry: { ecr: [{ region: 'r', endpoint: 'not a url' }] }, target: secret }, 'semantic'],
  ['bad-policy-json', { ...base, builder: { serviceAccounts: [{ namespace: 'ci', name: 'k' }], ecrRepositoryCreation: { enabled: true, accessPolicy: '{nope' } } }, 'semantic'],
];

const suffix = Date.now().toString(36);
const objectOf = ([name, spec]: (typeof corpus)[number]): Record<string, unknown> => (Object.hasOwn(spec, 'apiVersion')
  ? { ...spec, metadata: { name: `${name}-${suffix}` } }
  : { apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: `${name}-${suffix}` }, spec });

/** 'accepted', or the API server's reason for rejecting. */
async function apiServer(obj: Record<string, unknown>): Promise<string> {
  try {
    await rest.call({ method: 'POST', path: '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets', query: { dryRun: 'All', fieldValidation: 'Strict' }, body: obj });
    return 'accepted';
  } catch (err) {
    if (err instanceof KubeApiError && (err.code === 422 || err.code === 400)) return err.message;
    throw err;
  }
}

before(async () => { await installCrd(adminKubeConfig()); });
after(() => { rest.close(); });

test('validate and the API server agree on every resource of the corpus', async () => {
  const dir = scratchDir('validate');
  const file = join(dir, 'corpus.yaml');
  writeFileSync(file, corpus.map((c) => stringify(objectOf(c))).join('---\n'));
  let stdout = '';
  const code = await validateCommand.main([file], { stdin: Readable.from([]), env: {}, stdout: { write: (t: string) => (stdout += t) }, stderr: { write: () => true } });
  assert.equal(code, 1);
  const disagreements: string[] = [];
  for (const c of corpus) {
    const [name, , expected] = c;
    const obj = objectOf(c);
    const problems = checkResource(obj);
    const said: Verdict = problems.length === 0 ? 'valid' : problems.some((p) => p.layer === 'api') ? 'rejected' : 'semantic';
    const printed = stdout.includes(`${file}: ImagePullSecret/${name}-${suffix}: `);
    const server = await apiServer(obj);
    const serverAccepts = server === 'accepted';
    if (said !== expected) disagreements.push(`${name}: validate says ${said}, the corpus expects ${expected}: ${JSON.stringify(problems)}`);
    if (printed !== (said !== 'valid')) disagreements.push(`${name}: validate ${printed ? 'printed' : 'did not print'} it`);
    if (serverAccepts !== (said !== 'rejected')) disagreements.push(`${name}: the API server ${serverAccepts ? 'accepts' : `rejects (${server})`}, validate says ${said}`);
  }
  assert.deepEqual(disagreements, []);
});
