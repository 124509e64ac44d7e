/**
 * An aggregate's business logic as two pure functions: what a command decides given the state
 * (the events to append, none when there is nothing to do; a refusal is thrown), and how each
 * event changes the state. Nothing here reads or writes a store.
 */
export interface Decider<Command, State, Event> {
  /** The state of an aggregate that has no events yet. Never mutated: evolve returns anew. */
  readonly initialState: State;
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
}

/** The state after `events`, from `state` (the decider's initial state by default). */
export function fold<State, Event>(
  decider: Pick<Decider<never, State, Event>, 'initialState' | 'evolve'>,
  events: Iterable<Event>,
  state: State = decider.initialState,
): State {
  let s = state;
  for (const e of events) s = decider.evolve(s, e);
  return s;
}
