import { parseArgs } from 'node:util';
import { Role, SubjectToken } from '@cohort/contracts';
import { ALL_TRIALS } from '../auth/caller.js';
import { UsageError } from './errors.js';
import { developmentToken, parseTtl } from './identity.js';

export const TOKEN_USAGE = `cohort token — a development token, signed with the key set under <DATA_DIR>/auth/

  cohort token --sub <id> --role <role> [--trial <id>]... [--ttl 1h]

Roles: ${Role.options.join(', ')}. --trial '*' for every trial. Refused when token keys are
configured (COHORT_JWKS_URL or COHORT_JWKS_FILE).`;

/** Prints a development token for `--sub`, `--role` and each `--trial`. */
export async function token(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      sub: { type: 'string' },
      role: { type: 'string' },
      trial: { type: 'string', multiple: true },
      ttl: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  if (!values.sub) throw new UsageError('--sub <id> is required: who the token speaks for');
  const role = Role.safeParse(values.role);
  if (!role.success) throw new UsageError(`--role must be one of ${Role.options.join(', ')}`);
  const trials = values.trial ?? [];
  for (const t of trials) {
    if (t !== ALL_TRIALS && !SubjectToken.safeParse(t).success) {
      throw new UsageError(`--trial ${t} is not a trial id`);
    }
  }
  const jwt = await developmentToken({
    sub: values.sub,
    role: role.data,
    trials,
    ttlSeconds: parseTtl(values.ttl ?? '1h'),
  });
  console.log(jwt);
  return 0;
}
