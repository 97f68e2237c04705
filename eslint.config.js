// Lint configuration: typescript-eslint's type-checked rules, complexity limits, and the import
// layering of STYLE.md (lower layers never import higher ones).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Layers and the internal folders each may NOT import. */
const layers = {
  util: ['runtime', 'kube', 'controller', 'credentials', 'dockerconfig', 'builder', 'cli', 'daemon', 'metrics', 'log', 'api', 'admission', 'webhook'],
  dockerconfig: ['runtime', 'kube', 'controller', 'credentials', 'builder', 'cli', 'daemon', 'metrics', 'log', 'admission'],
  runtime: ['kube', 'controller', 'credentials', 'dockerconfig', 'builder', 'cli', 'daemon', 'api', 'admission'],
  // The providers register below the API: its schema, types and validation read their list.
  credentials: ['api', 'kube', 'controller', 'builder', 'cli', 'daemon', 'runtime', 'metrics', 'admission'],
  api: ['runtime', 'kube', 'controller', 'builder', 'cli', 'daemon', 'metrics', 'admission'],
  kube: ['controller', 'credentials', 'dockerconfig', 'builder', 'cli', 'daemon', 'admission'],
  metrics: ['controller', 'builder', 'cli', 'daemon', 'kube', 'admission'],
  log: ['runtime', 'kube', 'controller', 'credentials', 'dockerconfig', 'builder', 'cli', 'daemon', 'metrics', 'api', 'admission'],
  controller: ['builder', 'cli', 'daemon', 'webhook'],
  builder: ['controller', 'cli', 'daemon', 'webhook'],
  // The admission webhook reads the controller's caches through a port (admit.ts), never the controller.
  webhook: ['controller', 'builder', 'cli', 'daemon', 'runtime', 'credentials', 'dockerconfig'],
  // The commands share plumbing with the daemon's command, never its wiring.
  cli: ['daemon'],
  // The pure admission rule: the API and the daemon's own selection (controller/decide), nothing that
  // talks to the API server or serves requests.
  admission: ['runtime', 'kube', 'credentials', 'dockerconfig', 'builder', 'cli', 'daemon', 'metrics', 'log'],
};

const layerRules = Object.entries(layers).map(([layer, forbidden]) => ({
  files: [`src/${layer}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: forbidden.flatMap((f) => [`../${f}/*`, `../../${f}/*`, `../../../${f}/*`, `../${f}`, `../../${f}`]),
            message: `src/${layer} must not import these layers (see STYLE.md, Layout).`,
          },
          { group: ['../main*', '../../main*', '../../../main*'], message: 'Only the composition root imports everything.' },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.testbed/', 'charts/', 'test/testbed/go/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      complexity: ['error', 15],
      'max-depth': ['error', 4],
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // client-node's models are classes with no behaviour; object literals are how they are meant to be built.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Only src/main.ts reads the environment: the daemon\'s variables go through the flag table (src/daemon/config.ts), the commands get io.env.' },
      ],
    },
  },
  {
    files: ['src/main.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] }],
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
  ...layerRules,
);
