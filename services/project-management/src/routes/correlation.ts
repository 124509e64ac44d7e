import type { Context } from 'hono';

/** The caller's `X-Correlation-Id`, when it sent a non-empty one. */
export function correlation(c: Context): { correlationId?: string } {
  const id = c.req.header('x-correlation-id')?.slice(0, 128);
  return id ? { correlationId: id } : {};
}
