import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Target } from '../../../../src/api/v1alpha1/types.ts';
import { compileTarget, selectNamespace, type Selectable } from '../../../../src/controller/decide/selection.ts';

const ns = (name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): Selectable => ({ name, labels, annotations });

function compiled(target: Omit<Target, 'secret'>) {
  const c = compileTarget({ secret: { name: 's' }, ...target });
  if (!c.ok) throw new Error(c.errors.join('; '));
  return c.value;
}

test('selection rules, OR-combined', () => {
  const cases: { name: string; target: Omit<Target, 'secret'>; namespace: Selectable; pods?: Selectable[]; want: string | false }[] = [
    { name: 'by name', target: { namespaces: { names: ['a'] } }, namespace: ns('a'), want: 'name' },
    { name: 'other name', target: { namespaces: { names: ['a'] } }, namespace: ns('b'), want: false },
    { name: 'matchLabels', target: { namespaces: { labels: [{ matchLabels: { k: 'v' } }] } }, namespace: ns('a', { k: 'v' }), want: 'labels' },
    { name: 'matchLabels wrong value', target: { namespaces: { labels: [{ matchLabels: { k: 'v' } }] } }, namespace: ns('a', { k: 'w' }), want: false },
    { name: 'AND inside one item', target: { namespaces: { labels: [{ matchLabels: { k: 'v' }, matchExpressions: [{ key: 'x', operator: 'Exists' }] }] } },
      namespace: ns('a', { k: 'v' }), want: false },
    { name: 'OR across items', target: { namespaces: { labels: [{ matchLabels: { k: 'v' } }, { matchLabels: { x: 'y' } }] } },
      namespace: ns('a', { x: 'y' }), want: 'labels' },
    { name: 'In', target: { namespaces: { labels: [{ matchExpressions: [{ key: 'env', operator: 'In', values: ['dev', 'qa'] }] }] } },
      namespace: ns('a', { env: 'qa' }), want: 'labels' },
    { name: 'NotIn holds for absent key', target: { namespaces: { labels: [{ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }] } },
      namespace: ns('a'), want: 'labels' },
    { name: 'NotIn excludes', target: { namespaces: { labels: [{ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }] } },
      namespace: ns('a', { env: 'prod' }), want: false },
    { name: 'DoesNotExist', target: { namespaces: { labels: [{ matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }] } },
      namespace: ns('a', { env: '' }), want: false },
    { name: 'empty selector matches everything', target: { namespaces: { labels: [{}] } }, namespace: ns('a'), want: 'labels' },
    { name: 'no selectors match nothing', target: {}, namespace: ns('a', { k: 'v' }), want: false },
    { name: 'annotation with free-form value', target: { namespaces: { annotations: [{ matchAnnotations: { note: 'a b/c: d' } }] } },
      namespace: ns('a', {}, { note: 'a b/c: d' }), want: 'annotations' },
    { name: 'annotation In', target: { namespaces: { annotations: [{ matchExpressions: [{ key: 'n', operator: 'In', values: ['x y'] }] }] } },
      namespace: ns('a', {}, { n: 'x y' }), want: 'annotations' },
    { name: 'labels do not satisfy annotation selectors', target: { namespaces: { annotations: [{ matchAnnotations: { k: 'v' } }] } },
      namespace: ns('a', { k: 'v' }), want: false },
    { name: 'pod labels', target: { namespacesWithPods: { labels: [{ matchLabels: { app: 'x' } }] } }, namespace: ns('a'),
      pods: [ns('p1'), ns('p2', { app: 'x' })], want: 'pods' },
    { name: 'pod annotations', target: { namespacesWithPods: { annotations: [{ matchAnnotations: { inject: 'true' } }] } }, namespace: ns('a'),
      pods: [ns('p1', {}, { inject: 'true' })], want: 'pods' },
    { name: 'no matching pod', target: { namespacesWithPods: { labels: [{ matchLabels: { app: 'x' } }] } }, namespace: ns('a'),
      pods: [ns('p1', { app: 'y' })], want: false },
    { name: 'name wins first', target: { namespaces: { names: ['a'], labels: [{}] } }, namespace: ns('a'), want: 'name' },
  ];
  for (const c of cases) {
    const got = selectNamespace(compiled(c.target), c.namespace, c.pods ?? []);
    assert.equal(got.selected ? got.rule : false, c.want, c.name);
  }
});

test('invalid selectors do not compile and say where they are wrong', () => {
  const cases: [Omit<Target, 'secret'>, RegExp][] = [
    [{ namespaces: { labels: [{ matchExpressions: [{ key: 'k', operator: 'In' }] }] } }, /namespaces.labels\[0\].matchExpressions\[0\].values: operator In needs/],
    [{ namespaces: { labels: [{ matchExpressions: [{ key: 'k', operator: 'Exists', values: ['x'] }] }] } }, /takes no values/],
    [{ namespaces: { labels: [{ matchLabels: { 'bad key!': 'v' } }] } }, /not a valid label key/],
    [{ namespaces: { labels: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['not a label value'] }] }] } }, /not a valid label value/],
    [{ namespacesWithPods: { annotations: [{ matchExpressions: [{ key: 'k', operator: 'Bogus' as 'In' }] }] } }, /unknown operator "Bogus"/],
    [{ namespaces: { names: ['Not_A_Namespace'] } }, /not a valid namespace name/],
  ];
  for (const [target, want] of cases) {
    const c = compileTarget({ secret: { name: 's' }, ...target });
    assert.equal(c.ok, false);
    assert.match(c.errors.join('\n'), want);
  }
  const badName = compileTarget({ secret: { name: 'Bad Name' } });
  assert.equal(badName.ok, false);
});
