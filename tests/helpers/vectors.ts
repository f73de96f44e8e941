// Where the shared RFC 6962 vectors are: `../shared/vectors/rfc6962` from the project root
// (the lead's tree), or two levels up from a helper's worktree (/work/wt/NAME).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function rfc6962Vectors(): string {
  const candidates = [join(process.cwd(), '..', 'shared', 'vectors', 'rfc6962'), join(process.cwd(), '..', '..', 'shared', 'vectors', 'rfc6962')];
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}
