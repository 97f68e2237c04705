// Bounded text for status, conditions and Events: a status must always fit in one API request, however
// many broken keys, registries or namespaces a resource has (etcd refuses requests past ~1.5 MB).

/** Longest message written into a condition, a source's status or an Event note. */
export const MAX_MESSAGE_LENGTH = 1024;

/** The first `max` items, then a count of the rest: `a, b, c, and 17 more`. */
export const listed = (items: readonly string[], max = 5): string =>
  items.slice(0, max).join(', ') + (items.length > max ? `, and ${String(items.length - max)} more` : '');

/** `text` cut to at most `max` characters, marking the cut. */
export const bounded = (text: string, max = MAX_MESSAGE_LENGTH): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
