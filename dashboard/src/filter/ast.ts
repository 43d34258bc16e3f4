/** The filter's syntax tree: boolean structure over typed tests of schema columns. */

export type Scalar =
  | { readonly t: 'num'; readonly v: bigint }
  | { readonly t: 'str'; readonly v: string }
  /** 16 bytes, IPv4 mapped */
  | { readonly t: 'ip'; readonly v: Uint8Array }
  /** ms since the epoch, whole seconds */
  | { readonly t: 'time'; readonly v: number };

export type CompareOp = '=' | '<' | '<=' | '>' | '>=';

export type Test =
  | { readonly op: CompareOp; readonly value: Scalar }
  /** lo ≤ column ≤ hi: a CIDR, a port range */
  | { readonly op: 'between'; readonly lo: Scalar; readonly hi: Scalar }
  | { readonly op: 'in'; readonly values: readonly Scalar[] }
  /** every bit of mask set */
  | { readonly op: 'bits'; readonly mask: bigint }
  | { readonly op: 'like'; readonly pattern: string };

export type Node =
  | { readonly type: 'and' | 'or'; readonly items: readonly Node[] }
  | { readonly type: 'not'; readonly item: Node }
  /** true when the test holds for any of the columns */
  | { readonly type: 'test'; readonly columns: readonly string[]; readonly test: Test }
  /** the empty filter */
  | { readonly type: 'all' };
