/** The leader Service's name: a user's choice when valid, else `<svc>-leader`, shortened to fit 63 characters. */
import { shownValue } from "../config/ranges.ts";
import { ANN } from "./annotations.ts";

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const MAX = 63;
const SUFFIX = "-leader";

export function isDns1035Label(s: string): boolean {
  return s.length <= MAX && DNS1035.test(s);
}

/** FNV-1a over UTF-16 code units, as 8 hex digits: a short, stable hash for names. */
export function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** `<svc>-leader`, or `<prefix>-<hash>-leader` when that would exceed 63 characters. */
export function defaultLeaderName(source: string): string {
  const plain = source + SUFFIX;
  if (plain.length <= MAX) return plain;
  const hash = shortHash(source);
  const prefix = source.slice(0, MAX - SUFFIX.length - hash.length - 1).replace(/-+$/, "");
  return `${prefix}-${hash}${SUFFIX}`;
}

export type LeaderName =
  | { name: string; custom: boolean; error?: undefined }
  | { name?: undefined; custom: true; error: string };

/**
 * The wanted leader name. An invalid custom name is an error (the caller keeps the name it already manages, so
 * a typo never moves routing) rather than a silent fall-back.
 */
export function leaderNameFor(source: string, annotations: Readonly<Record<string, string>>): LeaderName {
  const custom = annotations[ANN.leaderServiceName];
  if (custom === undefined || custom === "") return { name: defaultLeaderName(source), custom: false };
  if (!isDns1035Label(custom)) {
    return {
      custom: true,
      error:
        `annotation ${ANN.leaderServiceName}: expected a DNS-1035 label (lower-case letters, digits and ` +
        `'-', starting with a letter, at most 63 characters); received ${shownValue(custom)}`,
    };
  }
  if (custom === source) {
    return {
      custom: true,
      error: `annotation ${ANN.leaderServiceName}: expected a name other than the source Service's own ` +
        `(or no annotation, for "${defaultLeaderName(source)}"); received ${shownValue(custom)}`,
    };
  }
  return { name: custom, custom: true };
}

/**
 * The leader name a reconcile uses: the wanted one, or on an invalid annotation the name already managed (else
 * the default), so a typo never moves routing. `error` is reported as InvalidAnnotation.
 */
export function effectiveLeaderName(
  source: string,
  annotations: Readonly<Record<string, string>>,
  managedName: string | undefined,
): { name: string; error?: string } {
  const choice = leaderNameFor(source, annotations);
  if (choice.error === undefined) return { name: choice.name };
  return { name: managedName ?? defaultLeaderName(source), error: choice.error };
}
