import type { ReportSubmittedData, ReportSubmittedDataV1 } from './events/report-submitted.js';

/**
 * What an upcaster may know beyond the event: facts a reader has from other streams. Upcasters
 * stay pure; a reader that knows nothing passes nothing and gets the defaults (null).
 */
export interface UpcastContext {
  /** The site a patient was enrolled at in a trial, when the reader knows it. */
  siteOf?(trialId: string, patientId: string): string | undefined;
}

/**
 * Turns the data of one version of an event type into the data of the next version. Pure and
 * JSON-only, so a replay of years-old events gives every consumer the latest shape.
 */
export type Upcaster = (data: unknown, context: UpcastContext) => unknown;

/** `type -> from version -> upcaster to version + 1`. Old events in a stream are never rewritten. */
export type UpcasterRegistry = Record<string, Record<number, Upcaster>>;

/**
 * `ReportSubmitted` v1 -> v2: the site from the patient's enrolment where the reader knows it,
 * else null; no device (v1 never said); answers unchanged (v1 had no units). The result is
 * validated by the v2 schema like any event, so malformed v1 data fails there, not here.
 */
export const reportSubmittedV1ToV2: Upcaster = (data, context) => {
  const v1 = (data ?? {}) as Partial<ReportSubmittedDataV1>;
  const { trialId, patientId } = v1;
  const known =
    typeof trialId === 'string' && typeof patientId === 'string'
      ? context.siteOf?.(trialId, patientId)
      : undefined;
  const v2: Omit<ReportSubmittedData, keyof ReportSubmittedDataV1> = {
    siteId: known ?? null,
    device: null,
  };
  // Object.assign, not spread: V8 copies a parsed event's members several times faster so, and
  // a replay upcasts every old event it reads.
  return Object.assign({}, v1, v2);
};

/** Every breaking change of a Cohort event adds its upcaster here, from the previous version. */
export const upcasters: UpcasterRegistry = {
  ReportSubmitted: { 1: reportSubmittedV1ToV2 },
};

/** Applies upcasters until the event is at the latest version the registry knows. */
export function upcast(
  value: unknown,
  registry: UpcasterRegistry = upcasters,
  context: UpcastContext = {},
): unknown {
  if (value === null || typeof value !== 'object') return value;
  const { type, version } = value as { type?: unknown; version?: unknown };
  if (typeof type !== 'string' || typeof version !== 'number') return value;
  const chain = registry[type];
  if (!chain?.[version]) return value;
  let e = value as { version: number; data?: unknown };
  for (let step = chain[e.version]; step; step = chain[e.version]) {
    e = Object.assign({}, e, { version: e.version + 1, data: step(e.data, context) });
  }
  return e;
}

/** Whether an event of `type` stored at `version` is older than the latest one `registry` knows. */
export function needsUpcast(
  type: string,
  version: number,
  registry: UpcasterRegistry = upcasters,
): boolean {
  return registry[type]?.[version] !== undefined;
}
