// `npm start`: builds the app when the build is missing or older than the sources, then
// serves it on PORT (default 8080) and prints the URL to open.
import { createServer } from 'node:http';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import { staticHandler } from './static.js';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const builtAt = existsSync(join(dist, 'index.html')) ? statSync(join(dist, 'index.html')).mtimeMs : 0;
const sourcesAt = Math.max(newestMtime(join(root, 'src')), statSync(join(root, 'index.html')).mtimeMs);
if (builtAt < sourcesAt) {
  console.log('building the app (vite build)…');
  execSync('npx vite build --logLevel warn', { cwd: root, stdio: 'inherit' });
}

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '0.0.0.0';
const server = createServer(staticHandler(dist));
server.listen(port, host, () => {
  console.log(`gridledger is up: open http://localhost:${port}/`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.close(() => process.exit(0)));
