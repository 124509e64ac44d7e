/**
 * Turns the data of one version of an event type into the data of the next version. Pure and
 * JSON-only, so a replay of years-old events gives every consumer the latest shape.
 */
export type Upcaster = (data: unknown) => unknown;

/** `type -> from version -> upcaster to version + 1`. Old events in a stream are never rewritten. */
export type UpcasterRegistry = Record<string, Record<number, Upcaster>>;

/**
 * Every breaking change of a Cohort event adds its upcaster here, from the previous version.
 * All events are at version 1 so far.
 */
export const upcasters: UpcasterRegistry = {};

/** Applies upcasters until the event is at the latest version the registry knows. */
export function upcast(value: unknown, registry: UpcasterRegistry = upcasters): unknown {
  if (value === null || typeof value !== 'object') return value;
  const { type, version } = value as { type?: unknown; version?: unknown };
  if (typeof type !== 'string' || typeof version !== 'number') return value;
  const chain = registry[type];
  if (!chain?.[version]) return value;
  let e = value as { version: number; data?: unknown };
  for (let step = chain[e.version]; step; step = chain[e.version]) {
    e = { ...e, version: e.version + 1, data: step(e.data) };
  }
  return e;
}
