/**
 * Longest-prefix match over IPv4 and IPv6 (one binary trie per family). Lookups cost one
 * step per bit of the longest stored prefix on the path, never a scan of all prefixes,
 * and allocate nothing: enrichment runs this for both ends of every flow.
 */
import { type Cidr, parseCidr, parseIpInto } from './ip.ts';

interface Node<V> {
  zero: Node<V> | undefined;
  one: Node<V> | undefined;
  value: V | undefined;
  has: boolean;
}

const node = <V>(): Node<V> => ({ zero: undefined, one: undefined, value: undefined, has: false });

export interface PrefixTrie<V> {
  insert(cidr: Cidr, value: V): void;
  /** the value of the longest prefix containing the address text, or undefined */
  lookup(addr: string): V | undefined;
  /** the same for address bytes already parsed (4 or 16 long) */
  lookupBytes(bytes: Uint8Array, family: 4 | 6): V | undefined;
  readonly size: number;
}

export function createPrefixTrie<V>(): PrefixTrie<V> {
  const roots = { 4: node<V>(), 6: node<V>() };
  const scratch = new Uint8Array(16);
  let size = 0;

  function lookupBytes(bytes: Uint8Array, family: 4 | 6): V | undefined {
    let n: Node<V> | undefined = roots[family];
    let found: V | undefined;
    const bits = family === 4 ? 32 : 128;
    for (let bit = 0; n !== undefined; bit++) {
      if (n.has) found = n.value;
      if (bit === bits) break;
      n = bytes[bit >> 3] & (0x80 >> (bit & 7)) ? n.one : n.zero;
    }
    return found;
  }

  return {
    get size() {
      return size;
    },
    insert(cidr, value) {
      let n = roots[cidr.bytes.length === 4 ? 4 : 6];
      for (let bit = 0; bit < cidr.prefix; bit++) {
        if (cidr.bytes[bit >> 3] & (0x80 >> (bit & 7))) n = n.one ??= node<V>();
        else n = n.zero ??= node<V>();
      }
      if (!n.has) size++;
      n.has = true;
      n.value = value;
    },
    lookup(addr) {
      const fam = parseIpInto(addr, scratch);
      return fam === 0 ? undefined : lookupBytes(scratch, fam);
    },
    lookupBytes,
  };
}

/** A set of networks (allowlists): true when the address is inside any of them. */
export function createNetworkSet(cidrs: readonly string[]): { contains(addr: string): boolean } {
  const trie = createPrefixTrie<true>();
  for (const c of cidrs) {
    const parsed = parseCidr(c);
    if (!parsed) throw new Error(`not an address or network: ${c}`);
    trie.insert(parsed, true);
  }
  return { contains: (addr) => trie.lookup(addr) === true };
}
