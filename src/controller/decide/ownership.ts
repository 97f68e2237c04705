// Who may hold a target Secret. Two resources that want the same Secret name in the same namespace:
// the older one (creationTimestamp, then name) owns it and the younger reports a conflict. Pure.
import { olderFirst } from '../../api/v1alpha1/resource.ts';
import type { ImagePullSecret } from '../../api/v1alpha1/types.ts';

/**
 * Of the resources that want Secret `secretName` in a namespace (`contenders`, each already known to
 * select it), the one that owns it.
 */
export function owningResource(contenders: ImagePullSecret[]): ImagePullSecret | undefined {
  return [...contenders].sort(olderFirst)[0];
}
