export { NatsServer } from './nats-server.js';
export { freePort } from './free-port.js';
export { testStores, type TestStore } from './stores.js';
export { reportSubmitted } from './events.js';
export { trialsIn } from './projects.js';
export { PostgresServer } from './postgres-server.js';
