/**
 * Komrade names (PROTOCOL.md §5.7, "Names"): case folding and the confusable skeleton that
 * keeps look-alikes such as `@aIice` (capital i) from registering beside `@alice`.
 * A name is shown and compared case-folded; two names whose skeletons are equal cannot both exist.
 */

/** A name folded once, where it enters (a route's schema, a signed record's check): what stores key by and compare. */
export type FoldedName = string & { readonly __folded: unique symbol };

/** A name as it is shown and compared: lower case, without a leading `@`. */
export const foldName = (name: string): FoldedName => name.trim().replace(/^@/, '').toLowerCase() as FoldedName;

/**
 * Look-alike classes, applied in order to the folded name (PROTOCOL.md §5.7):
 * `l`/`i`/`1`/`|` → `l`, `0` → `o`, `rn` → `m`, `vv` → `w`, `cl` → `d`; underscores at either end are dropped.
 */
const CONFUSABLES: [RegExp, string][] = [
  [/[il1|]/g, 'l'],
  [/0/g, 'o'],
  [/rn/g, 'm'],
  [/vv/g, 'w'],
  [/cl/g, 'd'],
];

/** The confusable skeleton of a name: names with equal skeletons read alike and cannot both be registered. */
export function skeleton(name: string): string {
  let s = foldName(name).replace(/^_+|_+$/g, '');
  for (const [from, to] of CONFUSABLES) s = s.replace(from, to);
  return s;
}
