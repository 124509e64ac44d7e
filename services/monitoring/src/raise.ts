import { SafetySignalRaised } from '@cohort/contracts';
import type { OutboxItem } from '@cohort/infra';
import { SIGNAL } from './diaries.js';
import { alerts, pairId, type MonitoringStores } from './stores.js';

/**
 * Carries out a queued safety signal: opens its alert, which decides nothing if it is open
 * already (a redelivered or replayed report, or a relay that ran twice): one alert per report
 * and rule, and one SafetySignalRaised.
 */
export function raiseSignals(stores: MonitoringStores, now: () => Date) {
  const handler = alerts(stores.alerts);
  return async (item: OutboxItem): Promise<void> => {
    if (item.kind !== SIGNAL) throw new Error(`monitoring's outbox has no effect ${item.kind}`);
    const signal = SafetySignalRaised.shape.data.parse(item.payload);
    await handler.handle(pairId(signal.trialId, signal.alertId), {
      type: 'Raise',
      signal,
      at: now().toISOString(),
      correlationId: signal.requestId,
    });
  };
}
