import { Role, SubjectToken } from '@cohort/contracts';
import { z } from 'zod';

/** Every trial: a `trials` claim of `["*"]`. */
export const ALL_TRIALS = '*';

/** The claims Cohort reads from a verified token. */
export const CallerClaims = z.object({
  /** Who: becomes the `actor.id` of every event the caller causes. */
  sub: z.string().min(1).max(128),
  role: Role,
  /** The trials the caller may touch; `["*"]` for all. */
  trials: z.array(z.union([SubjectToken, z.literal(ALL_TRIALS)])).max(1_000),
});

/** A verified caller. */
export interface Caller {
  id: string;
  role: Role;
  /** Trial ids, or ALL_TRIALS. */
  trials: ReadonlySet<string>;
}

/** Whether the caller may touch `trialId` at all (their role decides the rest). */
export function inTrial(caller: Caller, trialId: string): boolean {
  return caller.trials.has(ALL_TRIALS) || caller.trials.has(trialId);
}

/** The caller as an event's actor. */
export function actorOf(caller: Caller): { id: string; role: Role } {
  return { id: caller.id, role: caller.role };
}
