// Whether an object has been garbage-collected, for tests that prove a cache lets go of what it held.
// The test runner starts its processes without --expose-gc, so V8's gc() is exposed at run time.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** True once the target of `ref` is collected; false when it survives several full collections. */
export async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    // A WeakRef keeps its target alive until the current job ends: collect from a later turn.
    await new Promise((r) => setImmediate(r));
    gc();
    if (ref.deref() === undefined) return true;
  }
  return false;
}
