import {
  newEventId,
  projectSubject,
  Streams,
  type AnyEnvelope,
  type ProjectStatus,
} from '@cohort/contracts';
import type { Connection } from '../connection.js';
import { JetStreamEventStore } from '../event-store/jetstream-event-store.js';

const PATH: ProjectStatus[] = ['planned', 'enrolling', 'active', 'closed', 'locked'];

/**
 * Creates each trial project (ids not used before) and brings it to `status` (default
 * `active`) straight in PROJECTS, as project-management would, for tests of the services that
 * react to them; recorded `at` (default now), for tests whose clock is not now.
 */
export async function trialsIn(
  conn: Connection,
  trialIds: string[],
  status: ProjectStatus = 'active',
  at?: string,
): Promise<void> {
  const store = await JetStreamEventStore.open(conn, Streams.PROJECTS.name, projectSubject);
  const actor = { id: 'test-setup', role: 'system' as const };
  for (const projectId of trialIds) {
    const now = at ?? new Date().toISOString();
    const base = {
      version: 1,
      occurredAt: now,
      recordedAt: now,
      source: 'test',
      actor,
      correlationId: projectId,
      causationId: projectId,
    };
    const events: AnyEnvelope[] = [
      {
        ...base,
        id: newEventId(),
        type: 'ProjectCreated',
        data: { projectId, name: projectId, requestId: crypto.randomUUID(), status: 'planned' },
      },
    ];
    const target = status === 'suspended' ? PATH.indexOf('active') : PATH.indexOf(status);
    for (let i = 1; i <= target; i++) {
      events.push({
        ...base,
        id: newEventId(),
        type: 'ProjectStatusChanged',
        reason: 'test setup',
        data: { projectId, from: PATH[i - 1], to: PATH[i], effectiveAt: now },
      });
    }
    if (status === 'suspended') {
      events.push({
        ...base,
        id: newEventId(),
        type: 'ProjectStatusChanged',
        reason: 'test setup',
        data: { projectId, from: 'active', to: 'suspended', effectiveAt: now },
      });
    }
    await store.append(projectId, events, 0);
  }
}
