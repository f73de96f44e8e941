// Builds the app with Vite when dist/ is missing or older than the sources.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execSync } from 'node:child_process';

export const root = join(import.meta.dirname, '..');
export const dist = join(root, 'dist');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export function buildIfStale(): void {
  const builtAt = existsSync(join(dist, 'index.html')) ? statSync(join(dist, 'index.html')).mtimeMs : 0;
  const sourcesAt = Math.max(newestMtime(join(root, 'src')), statSync(join(root, 'index.html')).mtimeMs);
  if (builtAt < sourcesAt) {
    console.log('building the app (vite build)…');
    execSync('npx vite build --logLevel warn', { cwd: root, stdio: 'inherit' });
  }
}

