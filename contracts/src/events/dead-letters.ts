import { z } from 'zod';
import { eventSchema } from '../envelope.js';
import { UtcInstant } from '../ids.js';

/** `dl-<n>`: n is the sequence of the advisory that raised it, so capture is idempotent. */
export const DeadLetterId = z
  .string()
  .regex(/^dl-[1-9][0-9]*$/, 'a dead-letter id looks like dl-42');

/** Why JetStream gave up on a message. */
export const DeadLetterCause = z.enum(['max_deliveries', 'terminated']);

/** A message no retry could apply, captured with a copy of the original. */
export const DeadLetterCapturedData = z.object({
  deadLetterId: DeadLetterId,
  /** The durable consumer that failed it (`<service>-<projection>`). */
  consumer: z.string().min(1),
  cause: DeadLetterCause,
  /** Where the original lives (the copy below survives its retention). */
  stream: z.string().min(1),
  seq: z.number().int().positive(),
  subject: z.string().min(1),
  headers: z.record(z.string(), z.array(z.string())),
  /** The original payload, base64. */
  payload: z.string(),
  /** The payload as JSON when it parses, else null. */
  envelope: z.unknown().nullable(),
  deliveries: z.number().int().nonnegative(),
  firstFailedAt: UtcInstant,
  lastFailedAt: UtcInstant,
  /** The last error the subscriber recorded, or null when it recorded none. */
  lastError: z.string().nullable(),
});
export const DeadLetterCaptured = eventSchema('DeadLetterCaptured', 1, DeadLetterCapturedData);
export type DeadLetterCaptured = z.infer<typeof DeadLetterCaptured>;

/** An operator sent the message back to the consumer that failed it. `reason` says why. */
export const DeadLetterRedriven = eventSchema(
  'DeadLetterRedriven',
  1,
  z.object({
    deadLetterId: DeadLetterId,
    consumer: z.string().min(1),
    /** `Nats-Msg-Id` of the copy sent to `redrive.<consumer>` (recorded before it is sent). */
    redriveMsgId: z.string().min(1).max(128),
  }),
);
export type DeadLetterRedriven = z.infer<typeof DeadLetterRedriven>;

/** An operator decided the message will never be applied. `reason` says why. */
export const DeadLetterDiscarded = eventSchema(
  'DeadLetterDiscarded',
  1,
  z.object({ deadLetterId: DeadLetterId, consumer: z.string().min(1) }),
);
export type DeadLetterDiscarded = z.infer<typeof DeadLetterDiscarded>;

/** Every event of the `DEADLETTERS` stream. */
export const DeadLetterEvent = z.discriminatedUnion('type', [
  DeadLetterCaptured,
  DeadLetterRedriven,
  DeadLetterDiscarded,
]);
export type DeadLetterEvent = z.infer<typeof DeadLetterEvent>;
