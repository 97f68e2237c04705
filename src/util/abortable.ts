// Moved to deadline.ts, which holds every bounded wait; this re-export goes once no file imports it.
export { abortable } from './deadline.ts';
