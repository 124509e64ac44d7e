import { z } from 'zod';

/** project-management's own variables, beside those every service reads (runService). */
export const projectManagementEnv = {
  /** EventStoreDB's connection string: PROJECTS' events are kept there instead of JetStream. */
  EVENTSTORE_CONNECTION_STRING: z.string().min(1).optional(),
};
