import { z } from 'zod';

/** Configuration that cannot run: every variable named with what is wrong with it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.variable} ${i.message}`).join('; ')}`);
  }
}

/** An unset or empty variable is absent: `PORT=` means "the default", not zero. */
function absentWhenEmpty(v: unknown): unknown {
  return typeof v === 'string' && v.trim() === '' ? undefined : v;
}

/**
 * A whole number in `[min, max]`, written in decimal (`PORT=abc` and `PORT=1e3` are refused), or
 * absent (add `.default(n)`).
 */
export function envInt(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.preprocess(
    absentWhenEmpty,
    z
      .string()
      .trim()
      .regex(/^-?\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(min).max(max))
      .optional(),
  );
}

/** A comma-separated list of whole numbers, each at least `min`, or absent. */
export function envIntList(min: number) {
  return z.preprocess(
    absentWhenEmpty,
    z
      .string()
      .trim()
      .regex(/^\d+(\s*,\s*\d+)*$/, 'must be comma-separated whole numbers')
      .transform((s) => s.split(',').map((x) => Number(x.trim())))
      .pipe(z.array(z.number().int().min(min)).min(1))
      .optional(),
  );
}

/** A non-empty string, or absent. */
export function envString(max = 4096) {
  return z.preprocess(absentWhenEmpty, z.string().max(max).optional());
}

/**
 * Parses the environment with one schema: the typed configuration, or a ConfigError naming
 * every variable that is wrong. Variables the schema does not name are ignored.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const r = schema.safeParse(env);
  if (r.success) return r.data;
  throw new ConfigError(
    r.error.issues.map((i) => ({
      variable: i.path.map(String).join('.') || '(environment)',
      message: i.message,
    })),
  );
}
