/**
 * What an Operator that sees Tor circuits (it can: HiddenServiceExportCircuitID) could link:
 * the mailboxes and directory names touched by the requests on each circuit. Both browser
 * tiers use it: with the SOCKS stand-in a username stands for a circuit, with real tor the
 * circuit ids come from tor itself. Written apart from the add-on's own parsing (circuits.ts)
 * so that a mistake there cannot hide here.
 */

/**
 * A reader of the request paths in what one client sends over one connection. Chunks split
 * where the transport likes (tor cells carry ~500 bytes), so a request line can arrive in two
 * pieces: the unfinished last line is kept for the next chunk.
 */
export function requestPathReader(): (chunk: Buffer) => string[] {
  let carry = '';
  return (chunk) => {
    const lines = (carry + chunk.toString('latin1')).split('\n');
    carry = lines.pop()!.slice(-200); // a request line is short; a body line need not be kept whole
    return lines.flatMap((l) => /^(?:GET|POST|PUT|DELETE) (\/\S*) HTTP\/1\.1\r$/.exec(l)?.[1] ?? []);
  };
}

/** The mailbox or name a request path touches, if any. */
export function touched(path: string): string | undefined {
  const m = /^\/v2\/mailboxes\/([^/]+)\//.exec(path);
  if (m) return `mailbox ${m[1]}`;
  const n = /^\/v2\/names\/([^/]+)/.exec(path);
  return n ? `name ${decodeURIComponent(n[1]!).toLowerCase()}` : undefined;
}

/** Request paths by circuit → everything touched, and the circuits that touched more than one thing. */
export function linkage(byCircuit: Map<string | undefined, string[]>): { touched: Set<string>; linked: string[][] } {
  const all = new Set<string>(), linked: string[][] = [];
  for (const paths of byCircuit.values()) {
    const here = new Set(paths.map(touched).filter((x): x is string => !!x));
    here.forEach((x) => all.add(x));
    if (here.size > 1) linked.push([...here]);
  }
  return { touched: all, linked };
}
