// Who may hold a target Secret. Two resources that want the same Secret name in the same namespace:
// the older one (creationTimestamp, then name) owns it and the younger reports a conflict. Pure.
import type { ImagePullSecret } from '../../api/v1alpha1/types.ts';

function olderFirst(a: ImagePullSecret, b: ImagePullSecret): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/**
 * Of the resources that want Secret `secretName` in a namespace (`contenders`, each already known to
 * select it), the one that owns it.
 */
export function owningResource(contenders: ImagePullSecret[]): ImagePullSecret | undefined {
  return [...contenders].sort(olderFirst)[0];
}
