import { eventVersions } from '../versions.js';
import { asyncApiDocument } from './asyncapi.js';
import { eventSchemaDocument, schemaFileName } from './json-schema.js';

/** The file name of the AsyncAPI document among the published contracts. */
export const ASYNCAPI_FILE = 'asyncapi.json';

/** Two-space JSON with a final newline: the same text for the same value, every time. */
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * The published contracts, file name -> text, sorted by name: one JSON Schema per event type
 * and version, and the AsyncAPI document. Pure: `contracts:export` writes them, and a test
 * compares them with the checked-in copies.
 */
export function publishedFiles(opts: { version: string }): Map<string, string> {
  const files: [string, string][] = eventVersions().map((e) => [
    schemaFileName(e),
    json(eventSchemaDocument(e)),
  ]);
  files.push([ASYNCAPI_FILE, json(asyncApiDocument(opts))]);
  return new Map(files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
