import { parseDeadLetterEvent, type DeadLetterCaptured } from '@cohort/contracts';
import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../testing/decider-spec.js';
import {
  deadLetterDecider,
  DeadLetterConflictError,
  DeadLetterNotFoundError,
  GONE_ERROR,
  GONE_SUBJECT,
  type DeadLetterCommand,
} from './decider.js';

const at = '2026-03-01T09:00:00.000Z';
const operator = { id: 'nurse.jones', role: 'monitor' as const };
const data: DeadLetterCaptured['data'] = {
  deadLetterId: 'dl-7',
  consumer: 'edc-case-reports',
  cause: 'max_deliveries',
  stream: 'REPORTS',
  seq: 42,
  subject: 'reports.T1.P1',
  headers: {},
  payload: Buffer.from('{}').toString('base64'),
  envelope: {},
  deliveries: 10,
  firstFailedAt: at,
  lastFailedAt: at,
  lastError: 'Error: boom',
};
const capture = (d = data): DeadLetterCommand => ({
  type: 'Capture',
  data: d,
  occurredAt: at,
  at,
  reason: 'not applied after 10 deliveries',
  correlationId: 'c',
  causationId: 'c',
});
const redrive: DeadLetterCommand = {
  type: 'Redrive',
  deadLetterId: 'dl-7',
  actor: operator,
  reason: 'fixed',
  at,
};
const discard: DeadLetterCommand = { ...redrive, type: 'Discard', reason: 'test data' };

const spec = deciderSpec(deadLetterDecider, { parse: parseDeadLetterEvent });
/** The events `commands` decide one after the other, from nothing. */
function history(...commands: DeadLetterCommand[]) {
  const events = [];
  let state = deadLetterDecider.initialState;
  for (const c of commands) {
    for (const e of deadLetterDecider.decide(c, state)) {
      events.push(e);
      state = deadLetterDecider.evolve(state, e);
    }
  }
  return events;
}

describe('dead-letter decider', () => {
  it('captures once: a second capture of the same advisory decides nothing', () => {
    spec
      .given([])
      .when(capture())
      .then([{ type: 'DeadLetterCaptured', actor: { role: 'system' }, data }]);
    spec.given(history(capture())).when(capture()).then([]);
  });

  it('a capture is an open dead letter with its history', () => {
    expect(spec.given(history(capture())).state).toMatchObject({
      id: 'dl-7',
      status: 'open',
      capturedAt: at,
      consumer: 'edc-case-reports',
      history: [{ action: 'captured', at }],
    });
  });

  it('redrives with one message id per redrive, recording who and why', () => {
    spec
      .given(history(capture()))
      .when(redrive)
      .then([
        {
          type: 'DeadLetterRedriven',
          actor: operator,
          reason: 'fixed',
          data: {
            deadLetterId: 'dl-7',
            consumer: 'edc-case-reports',
            redriveMsgId: 'dl-7-redrive-1',
          },
        },
      ]);
    const twice = spec.given(history(capture(), redrive)).when(redrive);
    twice.then([{ data: { redriveMsgId: 'dl-7-redrive-2' } }]);
    expect(twice.thenState()).toMatchObject({
      status: 'redriven',
      history: [{ action: 'captured' }, { action: 'redriven' }, { action: 'redriven' }],
    });
  });

  it('discards, keeping the record; a discarded one is neither redriven nor discarded again', () => {
    spec
      .given(history(capture(), redrive))
      .when(discard)
      .thenState({
        status: 'discarded',
        history: [{}, {}, { action: 'discarded', reason: 'test data' }],
      });
    const discarded = history(capture(), discard);
    spec.given(discarded).when(redrive).thenThrows(DeadLetterConflictError);
    spec.given(discarded).when(discard).thenThrows(DeadLetterConflictError);
  });

  it('refuses to redrive one whose message is gone: there is nothing to send', () => {
    const gone = capture({ ...data, subject: GONE_SUBJECT, payload: '', lastError: GONE_ERROR });
    spec.given(history(gone)).when(redrive).thenThrows(DeadLetterConflictError);
    spec
      .given(history(gone))
      .when(discard)
      .then([{ type: 'DeadLetterDiscarded' }]);
  });

  it('a dead letter that was never captured is not found', () => {
    expect(spec.given([]).when(redrive).thenThrows(DeadLetterNotFoundError).id).toBe('dl-7');
    spec.given([]).when(discard).thenThrows(DeadLetterNotFoundError);
  });
});
