import { AssertionError } from 'node:assert';
import type { EventParser } from '@cohort/contracts';
import { fold, type Decider } from '../event-store/decider.js';

/**
 * What a decided event is expected to look like: only the fields given are compared, so
 * generated ids and clock times are left out, or stood in for by asymmetric matchers such as
 * vitest's `expect.any(String)`.
 */
export type Expected<T> = T extends readonly (infer U)[]
  ? readonly Expected<U>[]
  : T extends object
    ? { [K in keyof T]?: Expected<T[K]> }
    : T;

export interface DeciderSpecOptions<Event> {
  /**
   * The stream's parser: every decided event must pass it, as the command handler requires
   * before it stores one.
   */
  parse?: EventParser<Event>;
}

/** The outcome of `when`: assert it with exactly one of these. */
export interface WhenSpec<State, Event> {
  /**
   * Decided exactly these events, in order, each matching its expected fields. Returns the
   * events for further checks. (Named after given/when/then: do not `await` a WhenSpec.)
   */
  then(expected: readonly Expected<Event>[]): Event[];
  /** Threw an instance of `type` (matching `expected` fields, if given). Returns the error. */
  thenThrows<T>(type: abstract new (...args: never[]) => T, expected?: Expected<T>): T;
  /** Decided without throwing; returns the state after the given and decided events. */
  thenState(expected?: Expected<State>): State;
}

export interface GivenSpec<Command, State, Event> {
  /** The state folded from the given events. */
  readonly state: State;
  when(command: Command): WhenSpec<State, Event>;
}

export interface DeciderSpec<Command, State, Event> {
  given(events: readonly Event[]): GivenSpec<Command, State, Event>;
}

/**
 * Given/when/then over a decider, with no store:
 * `deciderSpec(decider).given([...events]).when(command).then([...expected])`, or
 * `.thenThrows(ErrorType)`, or `.thenState(expected)`. A mismatch throws an AssertionError
 * with both sides, which a test runner shows as a diff.
 */
export function deciderSpec<Command, State, Event>(
  decider: Decider<Command, State, Event>,
  options: DeciderSpecOptions<Event> = {},
): DeciderSpec<Command, State, Event> {
  return {
    given(history) {
      const state = fold(decider, history);
      return {
        state,
        when(command) {
          let decided: Event[] | undefined;
          let thrown: unknown;
          try {
            decided = decider.decide(command, state);
          } catch (e) {
            thrown = e;
          }
          const events = (): Event[] => {
            if (decided) return decided;
            throw new AssertionError({
              message: `expected events, but decide threw ${String(thrown)}`,
              actual: thrown,
            });
          };
          return {
            then(expected) {
              if (!Array.isArray(expected)) {
                throw new TypeError('then() takes the expected events; a WhenSpec is not awaited');
              }
              const actual = events();
              if (options.parse) {
                for (const e of actual) {
                  const r = options.parse(e);
                  if (!r.ok) {
                    throw new AssertionError({
                      message: `decided an event its stream cannot read: ${r.error.message}`,
                      actual: e,
                      expected: r.error.issues,
                    });
                  }
                }
              }
              assertMatches(actual, expected, 'decided events differ from the expected ones');
              return actual;
            },
            thenThrows(type, expected) {
              if (decided) {
                throw new AssertionError({
                  message: `expected ${type.name} to be thrown, but decide returned events`,
                  actual: decided,
                });
              }
              if (!(thrown instanceof type)) {
                throw new AssertionError({
                  message: `expected ${type.name} to be thrown, got ${String(thrown)}`,
                  actual: thrown,
                });
              }
              if (expected !== undefined) {
                assertMatches(thrown, expected, `the ${type.name} differs from the expected one`);
              }
              return thrown;
            },
            thenState(expected) {
              const after = fold(decider, events(), state);
              if (expected !== undefined) {
                assertMatches(after, expected, 'the state differs from the expected one');
              }
              return after;
            },
          };
        },
      };
    },
  };
}

function assertMatches(actual: unknown, expected: unknown, message: string): void {
  if (!matches(actual, expected)) {
    throw new AssertionError({ message, actual, expected, operator: 'matches' });
  }
}

interface AsymmetricMatcher {
  asymmetricMatch(other: unknown): boolean;
}

function isAsymmetric(v: unknown): v is AsymmetricMatcher {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Partial<AsymmetricMatcher>).asymmetricMatch === 'function'
  );
}

/**
 * Partial deep match: arrays match element by element and must have the same length; objects
 * match on the keys `expected` has; anything else is compared with Object.is.
 */
export function matches(actual: unknown, expected: unknown): boolean {
  if (isAsymmetric(expected)) return expected.asymmetricMatch(actual);
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((e, i) => matches(actual[i], e))
    );
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null) return false;
    return Object.entries(expected).every(([k, v]) =>
      matches((actual as Record<string, unknown>)[k], v),
    );
  }
  return Object.is(actual, expected);
}
