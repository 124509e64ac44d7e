import type { StreamMessage } from './reader.js';

/** What the formatting thread needs of a message: the rest stays with the reader. */
export type BatchMessage = Pick<StreamMessage, 'seq' | 'subject' | 'nanos' | 'data'>;

/** Sequence (8 bytes), time (8), subject length (2) and payload length (4) before the bytes. */
const FIXED_BYTES = 22;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Messages packed one after the other into a single buffer, so that a batch crosses to the
 * formatting thread as one transfer (no copy, no structured clone of a thousand objects).
 */
export class BatchWriter {
  private buffer: ArrayBuffer;
  private view: DataView;
  private bytes: Uint8Array;
  private used = 0;
  private messages = 0;

  constructor(private readonly capacity: number) {
    this.buffer = new ArrayBuffer(capacity);
    this.view = new DataView(this.buffer);
    this.bytes = new Uint8Array(this.buffer);
  }

  get count(): number {
    return this.messages;
  }

  get size(): number {
    return this.used;
  }

  add(m: BatchMessage): void {
    // A subject is ASCII in practice; three bytes a character covers any.
    const most = FIXED_BYTES + m.subject.length * 3 + m.data.length;
    if (this.used + most > this.buffer.byteLength) this.grow(this.used + most);
    const at = this.used;
    this.view.setFloat64(at, m.seq);
    this.view.setBigInt64(at + 8, m.nanos);
    const subject = encoder.encodeInto(m.subject, this.bytes.subarray(at + FIXED_BYTES));
    this.view.setUint16(at + 16, subject.written);
    this.view.setUint32(at + 18, m.data.length);
    this.bytes.set(m.data, at + FIXED_BYTES + subject.written);
    this.used = at + FIXED_BYTES + subject.written + m.data.length;
    this.messages++;
  }

  private grow(size: number): void {
    const bigger = new Uint8Array(2 * size);
    bigger.set(this.bytes.subarray(0, this.used));
    this.buffer = bigger.buffer;
    this.view = new DataView(this.buffer);
    this.bytes = bigger;
  }

  /** The packed messages, to transfer; empties this. */
  take(): ArrayBuffer {
    const full = this.buffer.slice(0, this.used);
    this.used = 0;
    this.messages = 0;
    return full;
  }
}

/** The messages of a buffer BatchWriter packed, in order; payloads are views into it. */
export function* readBatch(buffer: ArrayBuffer): Generator<BatchMessage> {
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  for (let at = 0; at < buffer.byteLength;) {
    const subjectLength = view.getUint16(at + 16);
    const dataLength = view.getUint32(at + 18);
    const subjectAt = at + FIXED_BYTES;
    const dataAt = subjectAt + subjectLength;
    yield {
      seq: view.getFloat64(at),
      nanos: view.getBigInt64(at + 8),
      subject: decoder.decode(bytes.subarray(subjectAt, dataAt)),
      data: bytes.subarray(dataAt, dataAt + dataLength),
    };
    at = dataAt + dataLength;
  }
}
