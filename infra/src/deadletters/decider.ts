import { decidedEnvelope } from '@cohort/contracts';
import type {
  Actor,
  DeadLetterCaptured,
  DeadLetterDiscarded,
  DeadLetterEvent,
  DeadLetterRedriven,
} from '@cohort/contracts';
import type { Decider } from '../event-store/decider.js';

export type DeadLetterStatus = 'open' | 'redriven' | 'discarded';
export const DEAD_LETTER_STATUSES: DeadLetterStatus[] = ['open', 'redriven', 'discarded'];

/** One change of a dead letter: who, when, why. */
export interface DeadLetterChange {
  action: 'captured' | 'redriven' | 'discarded';
  at: string;
  actor: Actor;
  reason: string | null;
  redriveMsgId?: string;
}

/** A dead letter as an operator sees it: the captured copy, its status, and its history. */
export interface DeadLetter extends Omit<DeadLetterCaptured['data'], 'deadLetterId'> {
  id: string;
  status: DeadLetterStatus;
  capturedAt: string;
  history: DeadLetterChange[];
}

export class DeadLetterNotFoundError extends Error {
  override readonly name = 'DeadLetterNotFoundError';
  constructor(readonly id: string) {
    super(`no dead letter ${id}`);
  }
}

/** The change is not allowed in the dead letter's status, or someone else changed it first. */
export class DeadLetterConflictError extends Error {
  override readonly name = 'DeadLetterConflictError';
}

/** Who changes a dead letter and why. */
export interface Change {
  actor: Actor;
  /** Why: required, kept forever. */
  reason: string;
}

/** The subject recorded for a dead letter whose original message had left its stream. */
export const GONE_SUBJECT = '(gone)';
/** Its last error says so. */
export const GONE_ERROR = 'the original message is no longer in its stream';

const SOURCE = 'cohort-deadletters';
const SYSTEM: Actor = { id: 'jetstream', role: 'system' };

/** One dead letter, or null while nothing is captured under its id. */
export type DeadLetterState = DeadLetter | null;

export type DeadLetterCommand =
  | {
      type: 'Capture';
      /** The copy of the failed message and its failure, as DeadLetterCaptured carries them. */
      data: DeadLetterCaptured['data'];
      /** When JetStream gave up on the message. */
      occurredAt: string;
      /** When the capture is recorded. */
      at: string;
      reason: string;
      correlationId: string;
      causationId: string;
    }
  | ({ type: 'Redrive'; deadLetterId: string; at: string } & Change)
  | ({ type: 'Discard'; deadLetterId: string; at: string } & Change);

function changeEnvelope(dl: DeadLetter, c: Change & { at: string }) {
  return decidedEnvelope({
    at: c.at,
    source: SOURCE,
    actor: c.actor,
    reason: c.reason,
    correlationId: dl.id,
  });
}

/**
 * Pure: what a command does to one dead letter. Capturing one that exists decides nothing (an
 * advisory is captured once, whoever captures it); a discarded one is neither redriven nor
 * discarded again; one whose message is gone has nothing to redrive.
 */
export function decide(command: DeadLetterCommand, state: DeadLetterState): DeadLetterEvent[] {
  switch (command.type) {
    case 'Capture': {
      if (state) return [];
      const captured: DeadLetterCaptured = {
        ...decidedEnvelope({
          at: command.at,
          occurredAt: command.occurredAt,
          source: SOURCE,
          actor: SYSTEM,
          reason: command.reason,
          correlationId: command.correlationId,
          causationId: command.causationId,
        }),
        type: 'DeadLetterCaptured',
        data: command.data,
      };
      return [captured];
    }
    case 'Redrive': {
      if (!state) throw new DeadLetterNotFoundError(command.deadLetterId);
      if (state.status === 'discarded') {
        throw new DeadLetterConflictError(`${state.id} was discarded; it cannot be redriven`);
      }
      if (state.subject === GONE_SUBJECT) {
        throw new DeadLetterConflictError(`${state.id}: ${GONE_ERROR}; there is nothing to send`);
      }
      const n = state.history.filter((h) => h.action === 'redriven').length + 1;
      const redriven: DeadLetterRedriven = {
        ...changeEnvelope(state, command),
        type: 'DeadLetterRedriven',
        data: {
          deadLetterId: state.id,
          consumer: state.consumer,
          // One id per redrive: the consumer's inbox, not dedup, keeps a second copy from applying.
          redriveMsgId: `${state.id}-redrive-${n}`,
        },
      };
      return [redriven];
    }
    case 'Discard': {
      if (!state) throw new DeadLetterNotFoundError(command.deadLetterId);
      if (state.status === 'discarded') {
        throw new DeadLetterConflictError(`${state.id} is already discarded`);
      }
      const discarded: DeadLetterDiscarded = {
        ...changeEnvelope(state, command),
        type: 'DeadLetterDiscarded',
        data: { deadLetterId: state.id, consumer: state.consumer },
      };
      return [discarded];
    }
    default:
      return command satisfies never;
  }
}

/** Pure: the dead letter after `event`. */
export function evolve(state: DeadLetterState, event: DeadLetterEvent): DeadLetterState {
  const change = { at: event.recordedAt, actor: event.actor, reason: event.reason ?? null };
  switch (event.type) {
    case 'DeadLetterCaptured': {
      if (state) return state;
      const { deadLetterId, ...rest } = event.data;
      return {
        id: deadLetterId,
        ...rest,
        status: 'open',
        capturedAt: event.recordedAt,
        history: [{ action: 'captured', ...change }],
      };
    }
    case 'DeadLetterRedriven':
      if (!state) return state;
      return {
        ...state,
        status: 'redriven',
        history: [
          ...state.history,
          { action: 'redriven', ...change, redriveMsgId: event.data.redriveMsgId },
        ],
      };
    case 'DeadLetterDiscarded':
      if (!state) return state;
      return {
        ...state,
        status: 'discarded',
        history: [...state.history, { action: 'discarded', ...change }],
      };
    default:
      return event satisfies never;
  }
}

/** One dead letter per aggregate (`deadletters.<id>`) for the generic command handler. */
export const deadLetterDecider: Decider<DeadLetterCommand, DeadLetterState, DeadLetterEvent> = {
  initialState: null,
  decide,
  evolve,
};
