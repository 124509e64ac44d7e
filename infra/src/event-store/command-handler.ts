import type { AnyEnvelope, EventParser, ParseError } from '@cohort/contracts';
import { fold, type Decider } from './decider.js';
import { ConcurrencyError, type EventStore } from './port.js';

/** An aggregate as loaded: its state, its version, and its events as the stream's parser reads them. */
export interface Loaded<State, Event> {
  state: State;
  /** Number of events the aggregate has; 0 when it has none. */
  version: number;
  events: { version: number; event: Event }[];
}

/** What handling a command did: the new state and version, and the events it appended. */
export interface Handled<State, Event> {
  state: State;
  version: number;
  /** Empty when the decider decided nothing (e.g. a repeated, idempotent command). */
  appended: Event[];
}

export interface HandleOptions {
  /** The version the caller decided on; a different current version is a ConcurrencyError. */
  expectedVersion?: number;
}

/** Loads and changes the aggregates of one decider in one event store. */
export interface CommandHandler<Command, State, Event> {
  load(aggregateId: string): Promise<Loaded<State, Event>>;
  handle(
    aggregateId: string,
    command: Command,
    options?: HandleOptions,
  ): Promise<Handled<State, Event>>;
}

/** A stored event that the stream's parser cannot read: the aggregate cannot be folded. */
export class StoredEventInvalidError extends Error {
  override readonly name = 'StoredEventInvalidError';
  constructor(
    readonly aggregateId: string,
    readonly version: number,
    readonly error: ParseError,
  ) {
    super(`${aggregateId} v${version}: ${describe(error)}`);
  }
}

/** The decider decided an event that the stream's readers could not read: nothing is stored. */
export class DecidedEventInvalidError extends Error {
  override readonly name = 'DecidedEventInvalidError';
  constructor(
    readonly aggregateId: string,
    readonly eventType: string,
    readonly error: ParseError,
  ) {
    super(`${aggregateId}: decided ${eventType} is not valid: ${describe(error)}`);
  }
}

function describe(error: ParseError): string {
  const issues = error.issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ');
  return issues ? `${error.message} (${issues})` : error.message;
}

/**
 * The one way an aggregate changes: load its events, parsed and upcast by the stream's parser
 * (an event that does not parse is an error, never a cast); fold them; check the caller's
 * expected version; decide; validate the decided events with the same parser; append them at
 * the version that was loaded. A concurrent writer makes the append, and so `handle`, throw
 * ConcurrencyError: never a lost update.
 */
export function commandHandler<Command, State, Event extends AnyEnvelope>(
  store: EventStore,
  decider: Decider<Command, State, Event>,
  parse: EventParser<Event>,
): CommandHandler<Command, State, Event> {
  async function load(aggregateId: string): Promise<Loaded<State, Event>> {
    const stored = await store.read(aggregateId);
    const events = stored.events.map(({ version, event }) => {
      const r = parse(event);
      if (!r.ok) throw new StoredEventInvalidError(aggregateId, version, r.error);
      return { version, event: r.event };
    });
    const state = fold(
      decider,
      events.map((e) => e.event),
    );
    return { state, version: stored.version, events };
  }

  async function handle(
    aggregateId: string,
    command: Command,
    options: HandleOptions = {},
  ): Promise<Handled<State, Event>> {
    const { state, version } = await load(aggregateId);
    const { expectedVersion } = options;
    if (expectedVersion !== undefined && expectedVersion !== version) {
      throw new ConcurrencyError(aggregateId, expectedVersion, version);
    }
    const decided = decider.decide(command, state);
    if (decided.length === 0) return { state, version, appended: [] };
    // What the stream takes, every reader must be able to read: checked before it is stored.
    const events = decided.map((e) => {
      const r = parse(e);
      if (!r.ok) throw new DecidedEventInvalidError(aggregateId, e.type, r.error);
      return r.event;
    });
    const appended = await store.append(aggregateId, events, version);
    return { state: fold(decider, events, state), version: appended.version, appended: events };
  }

  return { load, handle };
}
