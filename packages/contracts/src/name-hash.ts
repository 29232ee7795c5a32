// The label-wise name hash of bpf/name_hash.h, for the TypeScript side: the attributor maps a
// record's domain_hash back to the name a DNS record carried, and tests predict what the kernel
// stores. FNV-1a 64 over the bytes of the lower-case name (no trailing dot) taken from the last
// byte to the first; 0 becomes 1 (0 means "no name" in records). Walking backwards makes every
// label-aligned suffix an intermediate state, which is how the kernel gets the hash of every
// suffix of an answer in one pass, and why `*.` / `**.` rules are keyed by the hash of their base.
// name-hash.vectors.json is shared with bpf/test/namehash.c (name-hash.layout.test.ts) so the
// two implementations cannot drift.

const OFFSET = 0xcbf29ce484222325n;
const PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;

/** Canonical form the kernel hashes: lower-case ASCII, no trailing dot. */
export function canonicalName(name: string): string {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  return n.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** Hash of a name as the kernel computes it (the name is canonicalised first). */
export function nameHash(name: string): bigint {
  const bytes = Buffer.from(canonicalName(name), 'latin1');
  let h = OFFSET;
  for (let i = bytes.length - 1; i >= 0; i--) h = ((h ^ BigInt(bytes[i]!)) * PRIME) & MASK;
  return h === 0n ? 1n : h;
}

/** Hashes of the label-aligned proper suffixes, shortest first: a.b.c → [hash(c), hash(b.c)]. */
export function suffixHashes(name: string): bigint[] {
  const labels = canonicalName(name).split('.');
  const out: bigint[] = [];
  for (let j = 1; j < labels.length; j++) out.push(nameHash(labels.slice(labels.length - j).join('.')));
  return out;
}

/** The kernel key of a host pattern: match kind and the hash of its base. */
export function hostPatternKey(pattern: string): { match: 'exact' | 'one' | 'any'; hash: bigint } {
  if (pattern.startsWith('**.')) return { match: 'any', hash: nameHash(pattern.slice(3)) };
  if (pattern.startsWith('*.')) return { match: 'one', hash: nameHash(pattern.slice(2)) };
  return { match: 'exact', hash: nameHash(pattern) };
}
