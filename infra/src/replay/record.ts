// The upcasters alone: the formatting thread loads this module without the schemas.
import { needsUpcast, upcast } from '@cohort/contracts/upcasters';
import { envelopeHead, type EnvelopeHead } from './envelope-head.js';
import { formatStreamTime } from './stream-time.js';

/**
 * One replayed message, as a JSONL line carries it: where it is in the stream, when the stream
 * stored it, and the event upcast to the latest version of its type. The event is what was
 * stored, upcast, and not validated again (it was validated when it was appended); a payload
 * that is not JSON comes as `event: null` with `invalid` saying why, so no message is skipped
 * silently.
 */
export interface ReplayRecord {
  seq: number;
  subject: string;
  /** The stream's timestamp, RFC 3339 in UTC to the nanosecond. */
  time: string;
  event: unknown;
  invalid?: string;
}

const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const CLOSE_OBJECT = 0x7d;
const decoder = new TextDecoder();

/**
 * A message as replay reads it, parsed only as far as it is asked: its type and version come from
 * the head of its bytes (envelope-head.ts), and the whole event is parsed the first time `event`
 * is read. An event already at its latest version, filtered by type alone, is written as it was
 * stored (`stored`) and never parsed: parsing is most of what formatting a line costs.
 */
export class ReplayedMessage implements ReplayRecord {
  readonly time: string;
  /** The event's type and version, when its bytes begin as an envelope does. */
  readonly head: EnvelopeHead | null;
  #event: unknown;
  #invalid: string | undefined;
  #parsed = false;

  constructor(
    readonly seq: number,
    readonly subject: string,
    /** The stream's timestamp: nanoseconds since the epoch (or their decimal digits). */
    nanos: bigint | string,
    private readonly data: Uint8Array,
  ) {
    this.time = formatStreamTime(nanos);
    this.head = envelopeHead(data);
  }

  /** The event's type, from its head or, without one, from the parsed event. */
  get type(): string | undefined {
    if (this.head) return this.head.type;
    const type = (this.event as { type?: unknown } | null)?.type;
    return typeof type === 'string' ? type : undefined;
  }

  /**
   * The stored bytes when they are the event as a line would carry it: at its latest version (no
   * upcast), one object on one line. Undefined otherwise: the line is written from `event`.
   */
  get stored(): Uint8Array | undefined {
    const { head, data } = this;
    if (!head || needsUpcast(head.type, head.version)) return undefined;
    // Buffer's indexOf searches natively; a typed array's includes is several times slower.
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.length);
    if (bytes.indexOf(LINE_FEED) >= 0 || bytes.indexOf(CARRIAGE_RETURN) >= 0) return undefined;
    let last = data.length - 1;
    while (last > 0 && data[last]! <= 0x20) last--;
    return data[last] === CLOSE_OBJECT ? data : undefined;
  }

  get event(): unknown {
    if (!this.#parsed) this.#parse();
    return this.#event;
  }

  get invalid(): string | undefined {
    if (!this.#parsed) this.#parse();
    return this.#invalid;
  }

  #parse(): void {
    this.#parsed = true;
    try {
      this.#event = upcast(JSON.parse(decoder.decode(this.data)));
    } catch (e) {
      this.#event = null;
      this.#invalid = `not JSON: ${(e as Error).message}`;
    }
  }

  /** The record as a plain object (JSON.stringify calls it): the keys of ReplayRecord, in order. */
  toJSON(): ReplayRecord {
    const { seq, subject, time, event, invalid } = this;
    return invalid === undefined
      ? { seq, subject, time, event }
      : { seq, subject, time, event, invalid };
  }
}

/**
 * The trial the event belongs to, when it names one: `data.trialId`, or `data.projectId` for a
 * trial project's own events (a project is its trial, under the same id).
 */
export function eventTrial(r: ReplayRecord): string | undefined {
  const data = (r.event as { data?: { trialId?: unknown; projectId?: unknown } } | null)?.data;
  const trialId = data?.trialId ?? data?.projectId;
  return typeof trialId === 'string' ? trialId : undefined;
}
