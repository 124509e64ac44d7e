import { projectSubject, Streams, type ProjectStatus } from '@cohort/contracts';
import type { LastPerSubjectView } from '@cohort/infra';
import { match } from 'ts-pattern';

/** Statuses in which a trial takes patient data. */
export const ACCEPTING: ProjectStatus[] = ['enrolling', 'active'];

/** Where epro-api learns a trial's status: its own read model, never a call to another service. */
export interface TrialStatuses {
  /** The trial's status, or undefined for a trial no project exists for. */
  status(trialId: string): ProjectStatus | undefined;
  /** When the trial's project was created (UTC), or undefined for a trial that has none. */
  createdAt(trialId: string): Promise<string | undefined>;
}

/** Trial statuses from the live view of the last event of every project. */
export function trialStatuses(
  view: LastPerSubjectView<typeof Streams.PROJECTS.name>,
): TrialStatuses {
  return {
    status(trialId) {
      const e = view.get(projectSubject(trialId));
      if (!e) return undefined;
      return (
        match(e)
          .with({ type: 'ProjectCreated' }, (x) => x.data.status)
          .with({ type: 'ProjectStatusChanged' }, (x) => x.data.to)
          // The view follows lifecycle subjects only (PROJECT_LIFECYCLE_FILTER).
          .otherwise(() => undefined)
      );
    },
    async createdAt(trialId) {
      const e = await view.first(projectSubject(trialId));
      return e?.type === 'ProjectCreated' ? e.recordedAt : undefined;
    },
  };
}
