import { authorized, errorResponses, jsonContent, pipelineHealth } from '@cohort/infra';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { Pipeline } from '../api-schemas.js';
import type { AppDeps } from '../app.js';

/** The pipeline's health for operators: every durable consumer's lag, every stream's size. */
export function operationRoutes(app: OpenAPIHono, deps: AppDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/operations/pipeline',
      tags: ['operations'],
      summary: "Every durable consumer's lag and every stream's size",
      responses: { 200: jsonContent(Pipeline, 'the pipeline'), ...errorResponses([]) },
    }),
    async (c) => {
      authorized(c, 'operations.read');
      return c.json(await pipelineHealth(deps.conn), 200);
    },
  );
}
