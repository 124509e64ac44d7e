import type { CohortEvent, EventParser } from '@cohort/contracts';
import type { JsMsg } from '@nats-io/jetstream';
import type { BatchItem } from './apply-batch.js';
import type { EventMeta } from './projection.js';
import { deliveredMeta } from './redrive.js';

/** A message to apply, with the delivery it came in. */
export interface Item extends BatchItem {
  msg: JsMsg;
}

/** The messages of one batch as they arrive: parsed items, and those that are not events. */
export interface Prepared {
  size: number;
  items: Item[];
  invalid: { msg: JsMsg; meta: EventMeta; error: string }[];
}

export function emptyBatch(): Prepared {
  return { size: 0, items: [], invalid: [] };
}

/**
 * Parses one delivered message into the batch: an item to apply under its idempotency key
 * (`key`, default the event id), or an invalid one with the reason.
 */
export function addMessage(
  batch: Prepared,
  msg: JsMsg,
  redriven: boolean,
  parse: EventParser<CohortEvent>,
  key: ((event: CohortEvent) => string) | undefined,
): void {
  batch.size++;
  const parsed = parse(msg.data);
  const meta = deliveredMeta(msg, redriven);
  if (!parsed.ok) {
    const error = `${parsed.error.message}: ${parsed.error.issues
      .map((i) => `${i.path || '(root)'} ${i.message}`)
      .join('; ')}`;
    batch.invalid.push({ msg, meta, error });
    return;
  }
  batch.items.push({ msg, event: parsed.event, meta, key: key?.(parsed.event) ?? parsed.event.id });
}
