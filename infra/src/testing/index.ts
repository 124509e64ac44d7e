export { NatsServer } from './nats-server.js';
export { freePort } from './free-port.js';
