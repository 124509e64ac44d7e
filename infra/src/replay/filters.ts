import { eventTrial, type ReplayedMessage } from './record.js';

/** What a replay keeps of what the server delivers (the subject filter is the server's). */
export interface EventFilter {
  /** Event types to keep; all when empty. */
  types?: readonly string[];
  /** Keep only events whose `data.trialId` is this trial. */
  trial?: string;
}

/**
 * A predicate keeping what `filter` asks for: every event when it asks for nothing. The type is
 * read from a message's head; only a trial filter parses every event.
 */
export function eventFilter(filter: EventFilter): (r: ReplayedMessage) => boolean {
  const types = new Set(filter.types ?? []);
  const { trial } = filter;
  return (r) =>
    (types.size === 0 || types.has(r.type ?? '')) &&
    (trial === undefined || eventTrial(r) === trial);
}
