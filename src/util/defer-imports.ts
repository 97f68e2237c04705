// Imports a dependency makes at load time for code the daemon never runs, kept out of memory: a module
// once loaded is never collected, so each one costs its code and heap for the life of the process.
//
// A synchronous resolve hook hands the importing module a small stand-in for each deferred import (an
// ES module, so both `import` and `require` get it); for a Node builtin, see standInSource. Each export of the stand-in is a Proxy that loads
// the real module with require() the first time anything touches it, and forwards to the real export, so
// code that does use it still works. Which imports are deferred, and why each is never reached, is said
// where deferImports is called; the figures are in BENCHMARKS.md ("Module loading").
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Imports of one module to defer: the importing module's URL suffix, and per specifier the names it uses. */
export interface Deferral {
  /** How the importing module's URL ends, e.g. `/node_modules/pkg/dist/index.js`. */
  importer: string;
  /** Specifier as the importer writes it -> the names it imports (or reads from what require returns). */
  imports: Readonly<Record<string, readonly string[]>>;
}

/**
 * An ES module that exports `names`, each a Proxy that requires `url` on first use (call, `new`, or a
 * property read such as a static method) and forwards to the real export. For a Node builtin (`node:…`)
 * it exports the builtin's own objects instead (`default` is the module), taken with
 * process.getBuiltinModule: an ES import of a builtin builds its module facade, which reads every export,
 * and the lazy ones of node:http (WebSocket and its events) load Node's bundled undici.
 */
export function standInSource(url: string, names: readonly string[]): string {
  if (url.startsWith('node:')) {
    return [
      `const builtin$ = process.getBuiltinModule(${JSON.stringify(url)});`,
      ...names.map((n) => (n === 'default' ? 'export default builtin$;' : `export const ${n} = builtin$.${n};`)),
    ].join('\n');
  }
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  return [
    `import { createRequire as createRequire$ } from 'node:module';`,
    `let real$;`,
    `const load$ = () => (real$ ??= createRequire$(${JSON.stringify(url)})(${JSON.stringify(path)}));`,
    `const lazy$ = (name) => new Proxy(function () {}, {`,
    `  get: (_, key) => load$()[name][key],`,
    `  construct: (_, args) => Reflect.construct(load$()[name], args),`,
    `  apply: (_, self, args) => Reflect.apply(load$()[name], self, args),`,
    `});`,
    ...names.map((n) => `export const ${n} = lazy$(${JSON.stringify(n)});`),
  ].join('\n');
}

const installed = new Set<Deferral>();
/** Stand-in URL -> its source; the load hook serves them to require(), which reads no data: URL itself. */
const standIns = new Map<string, string>();

function namesFor(parentURL: string | undefined, specifier: string): readonly string[] | undefined {
  if (!parentURL) return undefined;
  for (const d of installed) {
    if (parentURL.endsWith(d.importer) && Object.hasOwn(d.imports, specifier)) return d.imports[specifier];
  }
  return undefined;
}

let hooked = false;

/** Defers the imports `deferral` names, from the next load of its importer on. Idempotent per object. */
export function deferImports(deferral: Deferral): void {
  installed.add(deferral);
  if (hooked) return;
  hooked = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      const names = namesFor(context.parentURL, specifier);
      if (!names) return resolved;
      const source = standInSource(resolved.url, names);
      const url = `data:text/javascript,${encodeURIComponent(source)}`;
      standIns.set(url, source);
      return { url, format: 'module', shortCircuit: true };
    },
    load(url, context, nextLoad) {
      const source = standIns.get(url);
      return source === undefined ? nextLoad(url, context) : { format: 'module', source, shortCircuit: true };
    },
  });
}
