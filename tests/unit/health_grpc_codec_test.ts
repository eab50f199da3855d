import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeHealthCheckRequest,
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
  encodeHealthCheckResponse,
} from "../../health/grpc_codec.ts";

Deno.test("HealthCheckRequest bytes match protobuf: tag 0x0a, length, UTF-8; empty service is no bytes", () => {
  assert.deepEqual([...encodeHealthCheckRequest("")], []);
  assert.deepEqual([...encodeHealthCheckRequest("a.B")], [0x0a, 3, 0x61, 0x2e, 0x42]);
  const long = "s".repeat(200);
  assert.deepEqual([...encodeHealthCheckRequest(long).subarray(0, 3)], [0x0a, 0xc8, 0x01]);
});

Deno.test("property: a request's service name survives encoding", () => {
  fc.assert(fc.property(fc.string({ unit: "grapheme", maxLength: 300 }), (s) => {
    assert.equal(decodeHealthCheckRequest(encodeHealthCheckRequest(s)).service, s);
  }));
});

Deno.test("HealthCheckResponse: status field, absent status, unknown fields skipped", () => {
  assert.deepEqual(decodeHealthCheckResponse(new Uint8Array([0x08, 0x01])), { status: 1 });
  assert.deepEqual(decodeHealthCheckResponse(new Uint8Array([])), { status: 0 });
  // field 2 (length-delimited "xy"), field 3 fixed64, field 4 fixed32, then status NOT_SERVING.
  const bytes = [0x12, 2, 0x78, 0x79, 0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x25, 1, 2, 3, 4, 0x08, 0x02];
  assert.deepEqual(decodeHealthCheckResponse(new Uint8Array(bytes)), { status: 2 });
  for (const status of [0, 1, 2, 3, 300]) {
    assert.equal(decodeHealthCheckResponse(encodeHealthCheckResponse(status)).status, status);
  }
});

Deno.test("malformed responses are errors that say what is wrong", () => {
  assert.throws(() => decodeHealthCheckResponse(new Uint8Array([0x08])), /truncated varint/);
  assert.throws(() => decodeHealthCheckResponse(new Uint8Array([0x12, 5, 1])), /truncated field 2/);
  assert.throws(() => decodeHealthCheckResponse(new Uint8Array([0x0b])), /wire type 3/);
  // A negative enum value (10-byte varint) is not SERVING.
  const negative = [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
  assert.equal(decodeHealthCheckResponse(new Uint8Array(negative)).status, -1);
});
