import { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { HttpError } from './errors.js';

/** What a body may be: JSON, or a JSON-based media type (`application/problem+json`). */
const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** UTF-8, a leading BOM dropped, bad sequences replaced: what `Request.text()` reads. */
const utf8 = new TextDecoder();

/**
 * Every request body, on every route: JSON only (415 otherwise, before a byte is read, so a web
 * page cannot post a form or text/plain without a CORS preflight), at most `limitBytes` (413
 * when Content-Length says more, or as soon as the bytes read cross the limit: nothing larger
 * is buffered), and then `check(text)` on the raw text, whose error answers instead. The body
 * is read once, straight from Node's request when the app is served by `listen` (no fetch
 * `Request` is built for it), and the routes' `c.req.json()` and `c.req.text()` use that text.
 */
export function jsonBodies(
  limitBytes: number,
  check?: (text: string) => HttpError | undefined,
): MiddlewareHandler {
  const tooLarge = () =>
    new HttpError(413, 'payload_too_large', `the body is larger than ${limitBytes} bytes`, {
      limitBytes,
    });
  return async (c, next) => {
    if (!METHODS_WITH_BODY.has(c.req.method)) return next();
    const incoming = nodeRequest(c);
    if (!hasBody(c, incoming)) return next();
    if (!JSON_TYPE.test(c.req.header('content-type') ?? '')) {
      throw new HttpError(415, 'unsupported_media_type', 'the body must be application/json', {
        expected: 'application/json',
      });
    }
    if (parseInt(c.req.header('content-length') ?? '0', 10) > limitBytes) throw tooLarge();
    const bytes = await (incoming
      ? readIncoming(incoming, limitBytes)
      : readStream(c.req.raw.body!, limitBytes));
    if (bytes === undefined) throw tooLarge();
    const text = utf8.decode(bytes);
    // Hono keeps each body it read as a promise, though its type says the value.
    Object.assign(c.req.bodyCache, { text: Promise.resolve(text) });
    const problem = check?.(text);
    if (problem) throw problem;
    await next();
  };
}

/** Node's request, when `listen` (@hono/node-server) serves the app; not for `app.request()`. */
function nodeRequest(c: Context): IncomingMessage | undefined {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  return incoming instanceof IncomingMessage ? incoming : undefined;
}

function hasBody(c: Context, incoming: IncomingMessage | undefined): boolean {
  const length = c.req.header('content-length');
  if (length !== undefined) return length !== '0';
  // HTTP/1.1 without Content-Length has a body only when chunked.
  if (incoming) return incoming.headers['transfer-encoding'] !== undefined;
  return c.req.raw.body !== null;
}

/** The whole body, or undefined once more than `limit` bytes have come (reading stops). */
function readIncoming(incoming: IncomingMessage, limit: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stop();
        // The rest is @hono/node-server's to drain or drop once the answer is sent.
        incoming.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (e: Error) => {
      stop();
      reject(e);
    };
    const onClose = () => onError(new Error('the request was closed before its body ended'));
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

/** `readIncoming` for a fetch `Request`'s body. */
async function readStream(
  body: ReadableStream<Uint8Array>,
  limit: number,
): Promise<Uint8Array | undefined> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}
