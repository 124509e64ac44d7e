import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, envInt, envIntList, envString, loadConfig } from './config.js';

const Schema = z.object({
  PORT: envInt(0, 65_535).default(3001),
  BACKOFF: envIntList(0),
  NAME: envString(),
});

describe('loadConfig', () => {
  it('takes defaults for unset and empty variables', () => {
    expect(loadConfig(Schema, {})).toEqual({ PORT: 3001 });
    expect(loadConfig(Schema, { PORT: '', BACKOFF: ' ', NAME: '' })).toEqual({ PORT: 3001 });
  });

  it('parses whole numbers and lists of them', () => {
    expect(loadConfig(Schema, { PORT: '8080', BACKOFF: '100, 200,300', NAME: 'x' })).toEqual({
      PORT: 8080,
      BACKOFF: [100, 200, 300],
      NAME: 'x',
    });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be a whole number'],
    [{ PORT: '1e3' }, 'PORT must be a whole number'],
    [{ PORT: '70000' }, 'PORT Too big'],
    [{ PORT: '-1' }, 'PORT Too small'],
    [{ BACKOFF: '1,x' }, 'BACKOFF must be comma-separated whole numbers'],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => loadConfig(Schema, env)).toThrow(ConfigError);
    expect(() => loadConfig(Schema, env)).toThrow(message);
  });

  it('names every wrong variable at once', () => {
    const e = (() => {
      try {
        loadConfig(Schema, { PORT: 'x', BACKOFF: 'y' });
      } catch (err) {
        return err as ConfigError;
      }
    })();
    expect(e?.issues.map((i) => i.variable)).toEqual(['PORT', 'BACKOFF']);
  });
});
