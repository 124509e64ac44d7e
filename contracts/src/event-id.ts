import { v7 } from 'uuid';

/** A new UUID v7 event ID (time-ordered, so IDs sort roughly by creation). */
export function newEventId(): string {
  return v7();
}
