import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { POLICY } from './policy.js';

const README = new URL('../../../README.md', import.meta.url);

/** The cells of each row of the first Markdown table after `heading`, header and rule left out. */
async function tableAfter(heading: string): Promise<string[][]> {
  const text = await readFile(README, 'utf8');
  const from = text.indexOf(heading);
  expect(from, `README has no "${heading}"`).toBeGreaterThanOrEqual(0);
  const lines = text.slice(from).split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  const table: string[][] = [];
  for (const l of lines.slice(start)) {
    if (!l.startsWith('|')) break;
    table.push(
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return table.slice(2);
}

const code = (s: string) => `\`${s}\``;

describe("the README's table of who may do what", () => {
  it('is the policy the services enforce, row for row', async () => {
    const expected = Object.entries(POLICY).map(([action, r]) => [
      code(action),
      r.what,
      r.roles
        .map((role) =>
          (r.ownOnly as readonly string[]).includes(role)
            ? `${code(role)} (own diary only)`
            : code(role),
        )
        .join(', '),
      r.trial ? 'yes' : 'no',
    ]);
    expect(await tableAfter('### Who may do what')).toEqual(expected);
  });
});
