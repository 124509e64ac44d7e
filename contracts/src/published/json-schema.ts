import { z } from 'zod';
import type { EventVersion } from '../versions.js';

/**
 * JSON Schema draft-07: the dialect AsyncAPI 3.0 names for payloads, and one every language
 * has a validator for.
 */
export const JSON_SCHEMA_DIALECT = 'http://json-schema.org/draft-07/schema#';
export const JSON_SCHEMA_FORMAT = 'application/schema+json;version=draft-07';

/** The file an event version's JSON Schema is published as: `ReportSubmitted.v2.schema.json`. */
export function schemaFileName(e: Pick<EventVersion, 'type' | 'version'>): string {
  return `${e.type}.v${e.version}.schema.json`;
}

/** `ReportSubmitted.v2`: an event version's name among messages and schemas. */
export function versionKey(e: Pick<EventVersion, 'type' | 'version'>): string {
  return `${e.type}.v${e.version}`;
}

/**
 * An event version's schema (envelope and data) as JSON Schema, without `$schema`: what a
 * reader accepts. Zod's refinements (calendar days, increasing lists) have no JSON Schema form
 * and are checked by Cohort's own readers only.
 */
export function eventJsonSchema(e: EventVersion): Record<string, unknown> {
  // `input`: what a reader accepts, so a field added later does not invalidate old readers.
  const schema: Record<string, unknown> = z.toJSONSchema(e.schema, {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'throw',
  });
  delete schema.$schema;
  return {
    title: `${e.type} v${e.version}`,
    ...(e.latest
      ? {}
      : {
          description:
            `Superseded: written before v${e.version + 1}. Streams still hold such events; ` +
            "Cohort's readers upcast them to the latest version.",
        }),
    ...schema,
  };
}

/** The published file of an event version's JSON Schema. */
export function eventSchemaDocument(e: EventVersion): Record<string, unknown> {
  return { $schema: JSON_SCHEMA_DIALECT, $id: schemaFileName(e), ...eventJsonSchema(e) };
}
