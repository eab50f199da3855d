/**
 * A self-signed ECDSA P-256 certificate made with WebCrypto and a minimal DER writer, for `--metrics-secure`
 * without a mounted certificate (the image has no openssl). Scrapers then skip verification or pin it.
 */

function len(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v >>= 8) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

function tlv(tag: number, body: Uint8Array | number[]): Uint8Array {
  const b = body instanceof Uint8Array ? body : new Uint8Array(body);
  return new Uint8Array([tag, ...len(b.length), ...b]);
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const seq = (...parts: Uint8Array[]) => tlv(0x30, cat(...parts));

function oid(text: string): Uint8Array {
  const [a, b, ...rest] = text.split(".").map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const bytes: number[] = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) bytes.unshift(0x80 | (v & 0x7f));
    out.push(...bytes);
  }
  return tlv(0x06, out);
}

/** A non-negative INTEGER from big-endian bytes (a leading 0 when the top bit is set). */
function uint(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const b = bytes.slice(i);
  return tlv(0x02, b[0] & 0x80 ? cat(new Uint8Array([0]), b) : b);
}

function utcTime(d: Date): Uint8Array {
  const s = d.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z";
  return tlv(0x17, new TextEncoder().encode(s));
}

function ipBytes(ip: string): Uint8Array | undefined {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return new Uint8Array(ip.split(".").map(Number));
  if (ip === "::1") return new Uint8Array([...new Array(15).fill(0), 1]);
  return undefined;
}

function pem(label: string, der: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...der)).replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${b64.trim()}\n-----END ${label}-----\n`;
}

export interface CertPair {
  cert: string;
  key: string;
}

/** A certificate for `names` (DNS names and IP addresses), valid from an hour ago for `days`. */
export async function selfSignedCert(names: readonly string[], days = 365): Promise<CertPair> {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const ecdsaSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const name = seq(tlv(0x31, seq(oid("2.5.4.3"), tlv(0x0c, new TextEncoder().encode("zen-lead metrics")))));
  const now = Date.now();
  const san = cat(...names.map((n) => {
    const ip = ipBytes(n);
    return ip ? tlv(0x87, ip) : tlv(0x82, new TextEncoder().encode(n));
  }));
  const extensions = tlv(
    0xa3,
    seq(
      seq(oid("2.5.29.17"), tlv(0x04, seq(san))),
      // serverAuth only.
      seq(oid("2.5.29.37"), tlv(0x04, seq(oid("1.3.6.1.5.5.7.3.1")))),
    ),
  );
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  const tbs = seq(
    tlv(0xa0, tlv(0x02, [2])),
    uint(serial),
    ecdsaSha256,
    name,
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + days * 86_400_000))),
    name,
    spki,
    extensions,
  );
  const raw = new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      keys.privateKey,
      tbs as Uint8Array<ArrayBuffer>,
    ),
  );
  // WebCrypto gives r || s; X.509 wants SEQUENCE { INTEGER r, INTEGER s }.
  const sig = seq(uint(raw.slice(0, 32)), uint(raw.slice(32)));
  const cert = seq(tbs, ecdsaSha256, tlv(0x03, cat(new Uint8Array([0]), sig)));
  return { cert: pem("CERTIFICATE", cert), key: pem("PRIVATE KEY", pkcs8) };
}
