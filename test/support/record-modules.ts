// Preloaded with `--import` into a daemon process: records every module the process loads and writes
// them, one a line, to the file $RECORD_MODULES_TO when the process exits. ES modules come from a load
// hook; CommonJS modules from require's cache, since a require() inside a CommonJS module can bypass the
// hooks under tsx; Node's own modules from process.moduleLoadList (`NativeModule internal/…` lines). For
// test/integration/idle-footprint.test.ts.
import { writeFileSync } from 'node:fs';
import { createRequire, registerHooks } from 'node:module';

const file = process.env.RECORD_MODULES_TO;
if (!file) throw new Error('record-modules: set RECORD_MODULES_TO to the file the loaded modules go to');
const loaded: string[] = [];
registerHooks({ load(url, context, nextLoad) { loaded.push(url); return nextLoad(url, context); } });
const requireCache = createRequire(import.meta.url).cache;
const builtins = (): string[] => (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
process.once('exit', () => { writeFileSync(file, `${[...loaded, ...Object.keys(requireCache), ...builtins()].join('\n')}\n`); });
