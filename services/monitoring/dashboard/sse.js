/**
 * Server-sent events read with fetch and a stream reader, because EventSource cannot send an
 * Authorization header.
 */

/** Waits after a lost stream: doubling from the first, up to the last. */
const RETRY_MS = [1_000, 2_000, 4_000, 8_000, 15_000];

/**
 * Splits an event stream into events, as the HTML standard reads `text/event-stream`: lines
 * end with CR, LF or CRLF; a blank line dispatches; `:` starts a comment; `event`, `data` and
 * `id` fields (one optional space after the colon). Feed it text as it arrives.
 */
export class SseParser {
  /** @param {(event: { type: string, data: string, id: string }) => void} onEvent */
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = '';
    this.type = '';
    /** @type {string[]} */
    this.data = [];
    this.id = '';
    // A chunk may end between the CR and the LF of one line end.
    this.skipLf = false;
  }

  /** @param {string} text */
  push(text) {
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer[i];
      if (ch === '\n' && this.skipLf && i === start) {
        this.skipLf = false;
        start = i + 1;
        continue;
      }
      this.skipLf = false;
      if (ch !== '\n' && ch !== '\r') continue;
      this.#line(this.buffer.slice(start, i));
      if (ch === '\r') {
        if (this.buffer[i + 1] === '\n') i++;
        else if (i + 1 === this.buffer.length) this.skipLf = true;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  /** @param {string} line */
  #line(line) {
    if (line === '') {
      if (this.data.length > 0 || this.type) {
        this.onEvent({ type: this.type || 'message', data: this.data.join('\n'), id: this.id });
      }
      this.type = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

/**
 * @typedef {object} FollowOptions
 * @property {(type: string) => void} onEvent every event's name (they carry no data)
 * @property {(state: 'live' | 'reconnecting' | 'refused', detail?: string) => void} onState
 */

/**
 * Follows an event stream with the token until `signal` aborts, reconnecting after a lost
 * stream with growing waits. A 401 or 403 stops following (`refused`): retrying cannot help.
 * @param {string} url
 * @param {string} token
 * @param {AbortSignal} signal
 * @param {FollowOptions} opts
 */
export async function follow(url, token, signal, opts) {
  let failures = 0;
  while (!signal.aborted) {
    try {
      const res = await fetch(url, {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        signal,
        cache: 'no-store',
      });
      if (res.status === 401 || res.status === 403) {
        /** @type {unknown} */
        const answer = await res.json().catch(() => null);
        const body = /** @type {{ message?: string } | null} */ (answer);
        opts.onState('refused', body?.message ?? `HTTP ${res.status}`);
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      opts.onState('live');
      failures = 0;
      const parser = new SseParser((e) => opts.onEvent(e.type));
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.push(value);
      }
    } catch {
      if (signal.aborted) return;
    }
    opts.onState('reconnecting');
    const wait = RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)];
    await new Promise((resolve) => {
      const t = setTimeout(resolve, wait);
      signal.addEventListener('abort', () => (clearTimeout(t), resolve(undefined)), {
        once: true,
      });
    });
  }
}
