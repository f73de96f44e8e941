// Where the shared RFC 6962 vectors are: GRIDLEDGER_RFC6962_VECTORS if set, else
// `../shared/vectors/rfc6962` from the project root (the lead's tree and CI's clone), or two
// levels up from a helper's worktree (/work/wt/NAME). Missing, the tests that need them fail
// with one line saying where to put them, not with a file-system stack trace.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function rfc6962Vectors(): string {
  const env = process.env.GRIDLEDGER_RFC6962_VECTORS;
  const candidates = env ? [env] : [join(process.cwd(), '..', 'shared', 'vectors', 'rfc6962'), join(process.cwd(), '..', '..', 'shared', 'vectors', 'rfc6962')];
  const found = candidates.find((p) => existsSync(join(p, 'inclusion')));
  if (found) return found;
  throw new Error(`RFC 6962 test vectors not found (looked in ${candidates.join(', ')}): clone the project beside ../shared, or set GRIDLEDGER_RFC6962_VECTORS to their directory`);
}
