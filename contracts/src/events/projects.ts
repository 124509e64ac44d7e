import { z } from 'zod';
import { EnvelopeFields, eventSchema } from '../envelope.js';
import { SubjectToken, UtcInstant } from '../ids.js';

/**
 * The lifecycle of a trial project:
 * `planned -> enrolling -> active <-> suspended`, `active | suspended -> closed -> locked`.
 */
export const ProjectStatus = z.enum([
  'planned',
  'enrolling',
  'active',
  'suspended',
  'closed',
  'locked',
]);
export type ProjectStatus = z.infer<typeof ProjectStatus>;

/** A project is a trial: its id is the `trialId` that reports carry. */
export const ProjectId = SubjectToken;

/** A trial project was set up. It starts `planned`. */
export const ProjectCreated = eventSchema(
  'ProjectCreated',
  1,
  z.object({
    projectId: ProjectId,
    name: z.string().min(1).max(200),
    /** The client's idempotency key for the creation request. */
    requestId: z.uuid(),
    status: z.literal('planned'),
  }),
);
export type ProjectCreated = z.infer<typeof ProjectCreated>;

/** A project moved from one status to another; `reason` and `actor` say why and who. */
export const ProjectStatusChanged = eventSchema(
  'ProjectStatusChanged',
  1,
  z.object({
    projectId: ProjectId,
    from: ProjectStatus,
    to: ProjectStatus,
    /** When the change takes effect (UTC); usually when it was decided. */
    effectiveAt: UtcInstant,
  }),
).extend({ reason: EnvelopeFields.reason.unwrap() });
export type ProjectStatusChanged = z.infer<typeof ProjectStatusChanged>;
