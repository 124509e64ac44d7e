import type { z } from 'zod';
import { DeadLetterEvent } from './events/dead-letters.js';
import { ReportSubmittedV1 } from './events/report-submitted.js';
import { CohortEvent } from './parse.js';

/** The schema of one event type at one version: an envelope with literal `type` and `version`. */
export type EventSchema = z.ZodObject & {
  shape: { type: z.ZodLiteral<string>; version: z.ZodLiteral<number> };
};

/**
 * The schemas of versions no writer uses any more, kept because streams still hold events of
 * them (read through the upcasters). A new version of an event adds its predecessor here.
 */
export const SupersededEvents: readonly EventSchema[] = [ReportSubmittedV1];

/** One version of one event type. */
export interface EventVersion {
  type: string;
  version: number;
  schema: EventSchema;
  /** True for the version writers use now; false for a superseded one. */
  latest: boolean;
}

/**
 * Every version of every event a Cohort stream may hold, by type then version: the latest of
 * each type from the stream unions, and the superseded ones.
 */
export function eventVersions(): EventVersion[] {
  const latest: EventSchema[] = [...CohortEvent.options, ...DeadLetterEvent.options];
  const all = [
    ...latest.map((schema) => ({ schema, latest: true })),
    ...SupersededEvents.map((schema) => ({ schema, latest: false })),
  ].map(({ schema, latest }) => ({
    type: schema.shape.type.value,
    version: schema.shape.version.value,
    schema,
    latest,
  }));
  // By code unit, not locale: the same order on every machine.
  return all.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.version - b.version));
}
