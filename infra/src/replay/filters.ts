import { eventTrial, eventType, type ReplayRecord } from './record.js';

/** What a replay keeps of what the server delivers (the subject filter is the server's). */
export interface EventFilter {
  /** Event types to keep; all when empty. */
  types?: readonly string[];
  /** Keep only events whose `data.trialId` is this trial. */
  trial?: string;
}

/** A predicate keeping what `filter` asks for: every event when it asks for nothing. */
export function eventFilter(filter: EventFilter): (r: ReplayRecord) => boolean {
  const types = new Set(filter.types ?? []);
  const { trial } = filter;
  return (r) =>
    (types.size === 0 || types.has(eventType(r) ?? '')) &&
    (trial === undefined || eventTrial(r) === trial);
}
