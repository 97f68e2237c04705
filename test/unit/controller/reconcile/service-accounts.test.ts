import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planPullSecrets } from '../../../../src/controller/reconcile/service-accounts.ts';
import { ADDED_PULL_SECRETS_ANNOTATION } from '../../../../src/api/v1alpha1/labels.ts';
import type { ServiceAccount } from '../../../../src/kube/objects.ts';

const sa = (names: string[], added?: string): ServiceAccount => ({
  metadata: { name: 'default', namespace: 'ns', ...(added === undefined ? {} : { annotations: { [ADDED_PULL_SECRETS_ANNOTATION]: added } }) },
  imagePullSecrets: names.map((name) => ({ name })),
});

test('planPullSecrets adds, keeps and removes only what it added', async (t) => {
  const rows: { name: string; sa: ServiceAccount; present: boolean; want: ReturnType<typeof planPullSecrets> }[] = [
    { name: 'adds a missing entry and records it', sa: sa(['theirs']), present: true,
      want: { imagePullSecrets: [{ name: 'theirs' }, { name: 'pull' }], added: 'pull' } },
    { name: 'present already: no change', sa: sa(['pull'], 'pull'), present: true, want: undefined },
    { name: 'present because someone else added it: no change, not claimed', sa: sa(['pull']), present: true, want: undefined },
    { name: 'removes an entry it added', sa: sa(['theirs', 'pull'], 'other,pull'), present: false,
      want: { imagePullSecrets: [{ name: 'theirs' }], added: 'other' } },
    { name: 'removing the last recorded entry drops the annotation', sa: sa(['pull'], 'pull'), present: false,
      want: { imagePullSecrets: [], added: null } },
    { name: 'never removes an entry it did not add', sa: sa(['pull']), present: false, want: undefined },
    { name: 'absent and not there: no change', sa: sa([]), present: false, want: undefined },
  ];
  for (const row of rows) {
    await t.test(row.name, () => { assert.deepEqual(planPullSecrets(row.sa, 'pull', row.present), row.want); });
  }
});
