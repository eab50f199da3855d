/** A small, stable 32-bit hash for seeded choices that must give the same answer on every controller run. */

const utf8 = new TextEncoder();

/** FNV-1a over the UTF-8 bytes of `text`, as an unsigned 32-bit integer. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of utf8.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** MurmurHash3's finaliser: FNV-1a alone barely spreads inputs that differ only in their last characters. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The rendezvous (highest-random-weight) weight of `member` under `seed`: a member's weight depends only on the
 * seed and itself, so adding or removing other members never reorders the rest.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { rendezvousWeight } from "./hash.ts";
 * strictEqual(rendezvousWeight("seed", "uid-a"), rendezvousWeight("seed", "uid-a"));
 * ```
 */
export function rendezvousWeight(seed: string, member: string): number {
  // The NUL separator keeps ("ab","c") and ("a","bc") apart.
  return mix32(fnv1a32(`${seed}\u0000${member}`));
}
