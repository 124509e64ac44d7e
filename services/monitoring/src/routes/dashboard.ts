import { readFile } from 'node:fs/promises';
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { notFound } from '@cohort/infra';
import { z } from 'zod';

const JS = 'text/javascript; charset=utf-8';
/** The dashboard's files: a page, its script modules and its style, with no data in them. */
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': JS,
  'api.js': JS,
  'chart.js': JS,
  'dialog.js': JS,
  'dom.js': JS,
  'sse.js': JS,
  'views.js': JS,
  'app.css': 'text/css; charset=utf-8',
};
/** `services/monitoring/dashboard`, from src/routes or dist/routes. */
const DIR = new URL('../../dashboard/', import.meta.url);

/** Whether a path is one of the dashboard's files, which anyone may fetch. */
export const isDashboardPath = (path: string) => path === '/' || path.startsWith('/assets/');

/**
 * The dashboard at `/`: plain HTML, CSS and JavaScript, no framework. It signs in with a token
 * the user pastes (kept in the tab's session storage) and calls the JSON API with it.
 */
export function dashboardRoutes(app: OpenAPIHono): void {
  const cache = new Map<string, Promise<Buffer>>();
  const file = (name: string) => {
    let f = cache.get(name);
    if (!f) {
      f = readFile(new URL(name, DIR));
      cache.set(name, f);
    }
    return f;
  };
  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      tags: ['dashboard'],
      summary: 'The dashboard',
      security: [],
      responses: {
        200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } },
      },
    }),
    async (c) => c.html((await file('index.html')).toString('utf8'), 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/assets/{file}',
      tags: ['dashboard'],
      summary: "The dashboard's script and style",
      security: [],
      request: { params: z.object({ file: z.string().max(64) }) },
      responses: {
        200: { description: 'a static file', content: { 'text/plain': { schema: z.string() } } },
        404: { description: 'no such file' },
      },
    }),
    async (c) => {
      const name = c.req.valid('param').file;
      const type = FILES[name];
      if (!type || name === 'index.html') throw notFound(`no file ${name}`);
      return c.body(new Uint8Array(await file(name)), 200, {
        'Content-Type': type,
        'Cache-Control': 'no-cache',
      });
    },
  );
}
