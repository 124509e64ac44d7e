import { AssertionError } from 'node:assert';
import type { EventParser } from '@cohort/contracts';
import { describe, expect, it } from 'vitest';
import type { Decider } from '../event-store/decider.js';
import { deciderSpec, matches } from './decider-spec.js';

type Event = { type: 'Added'; id: string; data: { n: number } };
type Command = { type: 'Add'; n: number };
class TooMany extends Error {
  constructor(readonly limit: number) {
    super(`more than ${limit}`);
  }
}

/** A counter that refuses to go past 10. */
const counter: Decider<Command, number, Event> = {
  initialState: 0,
  decide: (c, total) => {
    if (total + c.n > 10) throw new TooMany(10);
    return c.n === 0 ? [] : [{ type: 'Added', id: crypto.randomUUID(), data: { n: c.n } }];
  },
  evolve: (total, e) => total + e.data.n,
};
const added = (n: number): Event => ({ type: 'Added', id: 'x', data: { n } });
const spec = deciderSpec(counter);

describe('deciderSpec', () => {
  it('folds the given events into the state', () => {
    expect(spec.given([added(2), added(3)]).state).toBe(5);
  });

  it('then: matches the fields given, whatever the generated ones', () => {
    const [e] = spec
      .given([added(2)])
      .when({ type: 'Add', n: 3 })
      .then([{ data: { n: 3 } }]);
    expect(e?.id).toMatch(/-/);
    spec
      .given([])
      .when({ type: 'Add', n: 1 })
      .then([{ id: expect.any(String) as string, data: { n: 1 } }]);
  });

  it('then: fails on another value, a missing or an extra event, or a refusal', () => {
    const when = spec.given([]).when({ type: 'Add', n: 3 });
    expect(() => when.then([{ data: { n: 4 } }])).toThrow(AssertionError);
    expect(() => when.then([])).toThrow(AssertionError);
    expect(() => when.then([{ data: { n: 3 } }, { data: { n: 3 } }])).toThrow(AssertionError);
    expect(() =>
      spec
        .given([added(10)])
        .when({ type: 'Add', n: 1 })
        .then([]),
    ).toThrow(AssertionError);
  });

  it('thenThrows: returns the error of the type given, and fails otherwise', () => {
    const when = spec.given([added(9)]).when({ type: 'Add', n: 2 });
    expect(when.thenThrows(TooMany).limit).toBe(10);
    expect(when.thenThrows(TooMany, { limit: 10 })).toBeInstanceOf(TooMany);
    expect(() => when.thenThrows(TooMany, { limit: 11 })).toThrow(AssertionError);
    expect(() => when.thenThrows(TypeError)).toThrow(AssertionError);
    expect(() => spec.given([]).when({ type: 'Add', n: 1 }).thenThrows(TooMany)).toThrow(
      AssertionError,
    );
  });

  it('thenState: the state after the given and the decided events', () => {
    expect(
      spec
        .given([added(2)])
        .when({ type: 'Add', n: 3 })
        .thenState(),
    ).toBe(5);
    expect(() =>
      spec
        .given([added(2)])
        .when({ type: 'Add', n: 3 })
        .thenState(6),
    ).toThrow(AssertionError);
  });

  it('with a parser, fails on a decided event its stream cannot read', () => {
    const onlySmall: EventParser<Event> = (e) =>
      (e as Event).data.n < 5
        ? { ok: true, event: e as Event }
        : { ok: false, error: { kind: 'data', message: 'too big', issues: [] } };
    const strict = deciderSpec(counter, { parse: onlySmall });
    strict
      .given([])
      .when({ type: 'Add', n: 4 })
      .then([{ data: { n: 4 } }]);
    expect(() =>
      strict
        .given([])
        .when({ type: 'Add', n: 5 })
        .then([{ data: { n: 5 } }]),
    ).toThrow(/cannot read: too big/);
  });

  it('matches: partial objects, whole arrays, exact scalars', () => {
    expect(matches({ a: 1, b: { c: 2, d: 3 } }, { b: { c: 2 } })).toBe(true);
    expect(matches({ a: 1 }, { a: 2 })).toBe(false);
    expect(matches([1, 2], [1])).toBe(false);
    expect(matches(null, {})).toBe(false);
    expect(matches(undefined, undefined)).toBe(true);
  });
});
