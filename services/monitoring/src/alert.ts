import {
  decidedEnvelope,
  type Actor,
  type AlertAcknowledged,
  type AlertEscalated,
  type AlertResolved,
  type MonitoringEvent,
  type SafetySignalRaised,
} from '@cohort/contracts';
import type { Decider } from '@cohort/infra';
import { match } from 'ts-pattern';

/** The `source` and the actor of what monitoring decides by itself. */
export const SOURCE = 'monitoring';
export const MONITORING_ACTOR: Actor = { id: 'monitoring', role: 'system' };

/** An alert: raised by a safety signal, then acknowledged and resolved by staff. */
export type Alert =
  | { raised: false }
  | {
      raised: true;
      trialId: string;
      acknowledgeBy: string;
      acknowledged: boolean;
      resolved: boolean;
      escalated: boolean;
    };

export const noAlert: Alert = { raised: false };

export type AlertCommand =
  | { type: 'Raise'; signal: SafetySignalRaised['data']; at: string; correlationId: string }
  | { type: 'Acknowledge'; alertId: string; note: string; actor: Actor; at: string }
  | { type: 'Resolve'; alertId: string; actionTaken: string; actor: Actor; at: string }
  | { type: 'Escalate'; alertId: string; at: string };

/** Why staff cannot do what they asked; the HTTP layer answers 404 or 409. */
export class AlertRefused extends Error {
  override readonly name = 'AlertRefused';
  constructor(
    readonly kind: 'not-found' | 'already-acknowledged' | 'not-acknowledged' | 'already-resolved',
    readonly alertId: string,
  ) {
    super(`${alertId}: ${kind}`);
  }
}

function envelope(at: string, actor: Actor, correlationId: string) {
  return decidedEnvelope({ at, source: SOURCE, actor, correlationId });
}

/**
 * Pure. Raise opens the alert once (a second signal for the same report and rule decides
 * nothing); staff acknowledge it, then resolve it, each once; Escalate decides an escalation
 * once, only for an alert nobody acknowledged by its time.
 */
export function decideAlert(c: AlertCommand, s: Alert): MonitoringEvent[] {
  return match(c)
    .with({ type: 'Raise' }, (c): SafetySignalRaised[] =>
      s.raised
        ? []
        : [
            {
              ...envelope(c.at, MONITORING_ACTOR, c.correlationId),
              type: 'SafetySignalRaised',
              data: c.signal,
            },
          ],
    )
    .with({ type: 'Acknowledge' }, (c): AlertAcknowledged[] => {
      if (!s.raised) throw new AlertRefused('not-found', c.alertId);
      if (s.resolved) throw new AlertRefused('already-resolved', c.alertId);
      if (s.acknowledged) throw new AlertRefused('already-acknowledged', c.alertId);
      return [
        {
          ...envelope(c.at, c.actor, c.alertId),
          type: 'AlertAcknowledged',
          reason: c.note,
          data: { alertId: c.alertId, trialId: s.trialId, note: c.note },
        },
      ];
    })
    .with({ type: 'Resolve' }, (c): AlertResolved[] => {
      if (!s.raised) throw new AlertRefused('not-found', c.alertId);
      if (s.resolved) throw new AlertRefused('already-resolved', c.alertId);
      if (!s.acknowledged) throw new AlertRefused('not-acknowledged', c.alertId);
      return [
        {
          ...envelope(c.at, c.actor, c.alertId),
          type: 'AlertResolved',
          reason: c.actionTaken,
          data: { alertId: c.alertId, trialId: s.trialId, actionTaken: c.actionTaken },
        },
      ];
    })
    .with({ type: 'Escalate' }, (c): AlertEscalated[] => {
      if (!s.raised || s.acknowledged || s.resolved || s.escalated) return [];
      if (Date.parse(c.at) < Date.parse(s.acknowledgeBy)) return [];
      return [
        {
          ...envelope(c.at, MONITORING_ACTOR, c.alertId),
          type: 'AlertEscalated',
          reason: `not acknowledged by ${s.acknowledgeBy}`,
          data: { alertId: c.alertId, trialId: s.trialId, acknowledgeBy: s.acknowledgeBy },
        },
      ];
    })
    .exhaustive();
}

/** Pure: the alert after `event` (events of other kinds are not on an alert's subject). */
export function evolveAlert(s: Alert, e: MonitoringEvent): Alert {
  return match(e)
    .with({ type: 'SafetySignalRaised' }, (e): Alert => ({
      raised: true,
      trialId: e.data.trialId,
      acknowledgeBy: e.data.acknowledgeBy,
      acknowledged: false,
      resolved: false,
      escalated: false,
    }))
    .with({ type: 'AlertAcknowledged' }, (): Alert => (s.raised ? { ...s, acknowledged: true } : s))
    .with({ type: 'AlertResolved' }, (): Alert => (s.raised ? { ...s, resolved: true } : s))
    .with({ type: 'AlertEscalated' }, (): Alert => (s.raised ? { ...s, escalated: true } : s))
    .with({ type: 'NonComplianceDetected' }, () => s)
    .exhaustive();
}

export const alertDecider: Decider<AlertCommand, Alert, MonitoringEvent> = {
  initialState: noAlert,
  decide: decideAlert,
  evolve: evolveAlert,
};
