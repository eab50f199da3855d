/**
 * A JSON Schema (2020-12) validator for the keywords zen-lead's published schemas use: type, const, enum,
 * properties, required, additionalProperties, items, minimum, maximum, format date-time and local $ref. An
 * unknown keyword is an error, so a schema cannot silently ask for more than this checks.
 */

type Schema = Record<string, unknown> | boolean;

const KNOWN = new Set([
  "$schema",
  "$id",
  "$defs",
  "$ref",
  "title",
  "description",
  "type",
  "const",
  "enum",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "minimum",
  "maximum",
  "format",
]);

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Every violation as "path: message"; empty when `value` is valid. */
export function validate(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  const resolve = (ref: string): Schema => {
    if (!ref.startsWith("#/")) throw new Error(`$ref ${ref}: only local references are supported`);
    let node: unknown = root;
    for (const part of ref.slice(2).split("/")) node = (node as Record<string, unknown>)?.[part];
    if (node === undefined) throw new Error(`$ref ${ref}: not found`);
    return node as Schema;
  };
  const walk = (schema: Schema, v: unknown, path: string) => {
    if (schema === true) return;
    if (schema === false) return void errors.push(`${path}: no value is allowed here`);
    for (const k of Object.keys(schema)) {
      if (!KNOWN.has(k)) throw new Error(`schema keyword ${k} is not supported`);
    }
    if (typeof schema.$ref === "string") walk(resolve(schema.$ref), v, path);
    const t = typeOf(v);
    if (schema.type !== undefined) {
      const types = Array.isArray(schema.type) ? schema.type : [schema.type];
      const ok = types.some((x) => x === t || (x === "number" && t === "integer"));
      if (!ok) return void errors.push(`${path}: expected ${types.join(" or ")}, received ${t}`);
    }
    if ("const" in schema && !equal(schema.const, v)) {
      errors.push(`${path}: expected ${JSON.stringify(schema.const)}, received ${JSON.stringify(v)}`);
    }
    if (Array.isArray(schema.enum) && !schema.enum.some((e) => equal(e, v))) {
      errors.push(`${path}: expected one of ${JSON.stringify(schema.enum)}, received ${JSON.stringify(v)}`);
    }
    if (typeof v === "number") {
      if (typeof schema.minimum === "number" && v < schema.minimum) {
        errors.push(`${path}: below ${schema.minimum}`);
      }
      if (typeof schema.maximum === "number" && v > schema.maximum) {
        errors.push(`${path}: above ${schema.maximum}`);
      }
    }
    if (schema.format === "date-time" && typeof v === "string") {
      if (
        !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v) || Number.isNaN(Date.parse(v))
      ) {
        errors.push(`${path}: expected an RFC 3339 date-time, received ${JSON.stringify(v)}`);
      }
    }
    if (t === "object") {
      const obj = v as Record<string, unknown>;
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      for (const r of (schema.required ?? []) as string[]) {
        if (!(r in obj)) errors.push(`${path}: missing required property ${r}`);
      }
      for (const [k, val] of Object.entries(obj)) {
        if (k in props) walk(props[k], val, `${path}.${k}`);
        else if (schema.additionalProperties !== undefined) {
          walk(schema.additionalProperties as Schema, val, `${path}.${k}`);
        }
      }
    }
    if (t === "array" && schema.items !== undefined) {
      (v as unknown[]).forEach((item, i) => walk(schema.items as Schema, item, `${path}[${i}]`));
    }
  };
  walk(root, value, "$");
  return errors;
}
