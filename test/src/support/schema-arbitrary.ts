import fc from 'fast-check';

/** The part of JSON Schema (as an OpenAPI 3.1 document holds it) the generator reads. */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  default?: unknown;
}

/** Most items generated for an array: enough to exercise lists, few enough to stay fast. */
const MAX_GENERATED_ITEMS = 4;
/** Instants no later than a minute ago: a server refuses completion times in its future. */
const LATEST_INSTANT_MS = () => Date.now() - 60_000;
const EARLIEST_INSTANT_MS = Date.UTC(2000, 0, 1);

export interface SchemaContext {
  /** Resolves a `$ref` of the document. */
  resolve(ref: string): JsonSchema;
  /** Values worth trying for patterned strings (ids of things that exist), besides random ones. */
  ids: readonly string[];
}

/** Resolves `#/components/schemas/X` within an OpenAPI document. */
export function refResolver(doc: unknown): (ref: string) => JsonSchema {
  return (ref) => {
    let node: unknown = doc;
    for (const part of ref.replace(/^#\//, '').split('/')) {
      node = (node as Record<string, unknown>)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
    }
    if (node === undefined) throw new Error(`unresolved ${ref}`);
    return node as JsonSchema;
  };
}

/** Values that satisfy `schema`: the starting point the hostile mutations work from. */
export function validValue(schema: JsonSchema, ctx: SchemaContext): fc.Arbitrary<unknown> {
  if (schema.$ref) return validValue(ctx.resolve(schema.$ref), ctx);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const options = schema.anyOf ?? schema.oneOf;
  if (options) return fc.oneof(...options.map((s) => validValue(s, ctx)));
  if (schema.allOf?.length === 1) return validValue(schema.allOf[0]!, ctx);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return validString(schema, ctx);
    case 'integer':
      return fc.integer({
        min: schema.minimum ?? -1_000,
        max: schema.maximum ?? 1_000,
      });
    case 'number':
      return fc.double({
        min: schema.minimum ?? -1e6,
        max: schema.maximum ?? 1e6,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(schema.items ? validValue(schema.items, ctx) : fc.jsonValue(), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(
          schema.minItems ?? 0,
          Math.min(schema.maxItems ?? 4, MAX_GENERATED_ITEMS),
        ),
      });
    case 'object':
    case undefined: {
      const props = schema.properties ?? {};
      const shape = Object.fromEntries(
        Object.entries(props).map(([k, s]) => [k, validValue(s, ctx)]),
      );
      return fc.record(shape, { requiredKeys: (schema.required ?? []) as never[] });
    }
    default:
      return fc.jsonValue();
  }
}

function validString(schema: JsonSchema, ctx: SchemaContext): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? 64;
  const fits = (s: string) => s.length >= min && s.length <= max;
  switch (schema.format) {
    case 'uuid':
      return fc.uuid({ version: [4, 7] });
    case 'date-time':
      return fc
        .integer({ min: EARLIEST_INSTANT_MS, max: LATEST_INSTANT_MS() })
        .map((ms) => new Date(ms).toISOString());
  }
  const re = schema.pattern ? new RegExp(schema.pattern) : undefined;
  const known = ctx.ids.filter((id) => fits(id) && (!re || re.test(id)));
  const random = re
    ? fc.stringMatching(re, { size: 'small' }).filter(fits)
    : fc.string({ minLength: min, maxLength: Math.min(max, 64), unit: 'grapheme' });
  return known.length > 0 ? fc.oneof(fc.constantFrom(...known), random) : random;
}
