// The CustomResourceDefinition of ImagePullSecret, built from the schema. `npm run generate` writes it to
// crds/; the chart carries the same bytes (a test checks both).
import { stringify } from 'yaml';
import { openApiSchema } from './schema.ts';
import { GROUP, KIND, PLURAL, SHORT_NAME, SINGULAR, VERSION } from './types.ts';

export const CRD_FILE = `${PLURAL}.${GROUP}.yaml`;

export function customResourceDefinition(): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Cluster',
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: SINGULAR, shortNames: [SHORT_NAME] },
      versions: [{
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
          { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: 1 },
          { name: 'Namespaces', type: 'integer', jsonPath: '.status.managedNamespaceCount' },
          // A timestamp, not a countdown: it stays true without status writes. Type string, since kubectl
          // prints a future `date` as <invalid>.
          { name: 'Expires', type: 'string', description: 'When the earliest token expires', jsonPath: '.status.expiresAt' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: { openAPIV3Schema: openApiSchema },
      }],
    },
  };
}

export const crdYaml = (): string =>
  `# Generated from src/api/v1alpha1/schema.ts by \`npm run generate\`; do not edit.\n${stringify(customResourceDefinition(), { lineWidth: 0 })}`;
