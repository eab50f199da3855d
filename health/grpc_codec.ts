/**
 * Hand-written protobuf for grpc.health.v1: `HealthCheckRequest { string service = 1; }` and
 * `HealthCheckResponse { ServingStatus status = 1; }`. Two one-field messages do not justify a proto loader.
 */

export const HEALTH_CHECK_METHOD = "/grpc.health.v1.Health/Check";

/** grpc.health.v1.HealthCheckResponse.ServingStatus */
export const SERVING_STATUS: Readonly<Record<number, string>> = {
  0: "UNKNOWN",
  1: "SERVING",
  2: "NOT_SERVING",
  3: "SERVICE_UNKNOWN",
};

export const SERVING = 1;

const encoder = new TextEncoder();

function pushVarint(out: number[], n: number): void {
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

/** The request bytes; the empty service name (the server as a whole) is the proto3 default, so no bytes. */
export function encodeHealthCheckRequest(service: string): Uint8Array {
  if (service === "") return new Uint8Array(0);
  const name = encoder.encode(service);
  const out: number[] = [0x0a]; // field 1, wire type 2 (length-delimited)
  pushVarint(out, name.length);
  const head = Uint8Array.from(out);
  const bytes = new Uint8Array(head.length + name.length);
  bytes.set(head);
  bytes.set(name, head.length);
  return bytes;
}

/** Reads a varint at `pos`; returns the value and the position after it. */
function readVarint(bytes: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= bytes.length) throw new Error("truncated varint in HealthCheckResponse");
    const b = bytes[pos++];
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
  throw new Error("varint longer than 10 bytes in HealthCheckResponse");
}

/** The response's status (0 = UNKNOWN when absent); unknown fields are skipped as protobuf requires. */
export function decodeHealthCheckResponse(bytes: Uint8Array): { status: number } {
  let status = 0;
  let pos = 0;
  while (pos < bytes.length) {
    const [key, afterKey] = readVarint(bytes, pos);
    pos = afterKey;
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    if (wireType === 0) {
      const [value, next] = readVarint(bytes, pos);
      pos = next;
      // Negative enum values arrive as 64-bit two's complement; none of them is SERVING.
      if (field === 1) status = value > 0x7fffffff ? -1 : value;
    } else if (wireType === 1) {
      pos += 8;
    } else if (wireType === 2) {
      const [len, next] = readVarint(bytes, pos);
      pos = next + len;
    } else if (wireType === 5) {
      pos += 4;
    } else {
      throw new Error(`unsupported protobuf wire type ${wireType} (field ${field}) in HealthCheckResponse`);
    }
    if (pos > bytes.length) throw new Error(`truncated field ${field} in HealthCheckResponse`);
  }
  return { status };
}

/** The protobuf bytes of a response, for test servers. */
export function encodeHealthCheckResponse(status: number): Uint8Array {
  if (status === 0) return new Uint8Array(0);
  const out: number[] = [0x08]; // field 1, wire type 0 (varint)
  pushVarint(out, status);
  return Uint8Array.from(out);
}

/** The request's service name, for test servers. */
export function decodeHealthCheckRequest(bytes: Uint8Array): { service: string } {
  let service = "";
  let pos = 0;
  while (pos < bytes.length) {
    const [key, afterKey] = readVarint(bytes, pos);
    pos = afterKey;
    const wireType = key & 7;
    if (wireType === 2) {
      const [len, next] = readVarint(bytes, pos);
      if (key >> 3 === 1) service = new TextDecoder().decode(bytes.subarray(next, next + len));
      pos = next + len;
    } else if (wireType === 0) pos = readVarint(bytes, pos)[1];
    else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else throw new Error(`unsupported protobuf wire type ${wireType} in HealthCheckRequest`);
  }
  return { service };
}
