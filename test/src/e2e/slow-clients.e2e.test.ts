import { connect as connectSocket, type Socket } from 'node:net';
import { HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, NatsServer } from '@cohort/infra/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceProcess } from '../support/service-process.js';

/**
 * Slow and idle clients against a running service: the server, not the client, ends each
 * connection, for the reason its documented timeouts give. The bounds below only say when the
 * test stops waiting; they are far above the timeouts so that a loaded machine does not fail it.
 */
const GIVE_UP_AFTER_MS = 10_000;
/** How often the slow client sends its next byte: often enough never to look idle. */
const TRICKLE_INTERVAL_MS = 200;

let nats: NatsServer;
let api: ServiceProcess;

beforeAll(async () => {
  nats = await NatsServer.start();
  api = await ServiceProcess.start('epro-api', { NATS_URL: nats.url });
});

afterAll(async () => {
  await api?.stop();
  await nats?.dispose();
});

interface Ending {
  /** The server closed (or reset) the connection before the test gave up. */
  closedByServer: boolean;
  /** Everything the server sent. */
  received: string;
}

/** Waits for the server to end `socket`, giving up (and closing it) after `giveUpMs`. */
function ending(socket: Socket, giveUpMs: number): Promise<Ending> {
  return new Promise((resolve) => {
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('error', () => undefined); // a reset is the server ending it too
    const timer = setTimeout(() => {
      resolve({ closedByServer: false, received });
      socket.destroy();
    }, giveUpMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ closedByServer: true, received });
    });
  });
}

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connectSocket(api.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

describe.concurrent('a running service and slow or idle clients', () => {
  it('cuts off a client that sends its headers one byte at a time (408, headers timeout)', async () => {
    const socket = await open();
    const start = 'GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: ';
    let sent = 0;
    // The header line never ends: only the headers timeout can end this request.
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write(sent < start.length ? start[sent++]! : 'a');
    }, TRICKLE_INTERVAL_MS);
    const end = await ending(socket, HEADERS_TIMEOUT_MS + GIVE_UP_AFTER_MS);
    clearInterval(trickle);
    expect(end.closedByServer).toBe(true);
    expect(end.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes an idle keep-alive connection after its keep-alive timeout', async () => {
    const socket = await open();
    const end = ending(socket, KEEP_ALIVE_TIMEOUT_MS + GIVE_UP_AFTER_MS);
    socket.write('GET /healthz HTTP/1.1\r\nHost: idle\r\n\r\n');
    const { closedByServer, received } = await end;
    expect(closedByServer).toBe(true);
    // One answer, which kept the connection open and named the timeout that then closed it.
    expect(received.match(/^HTTP\/1\.1 /gm)).toHaveLength(1);
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toMatch(/\r\nConnection: keep-alive\r\n/i);
    expect(received).toMatch(
      new RegExp(`\\r\\nKeep-Alive: timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}\\r\\n`, 'i'),
    );
  });

  it('closes a connection that never sends a request (headers timeout from the connection)', async () => {
    const socket = await open();
    const end = await ending(socket, HEADERS_TIMEOUT_MS + GIVE_UP_AFTER_MS);
    expect(end).toEqual({ closedByServer: true, received: '' });
  });
});
