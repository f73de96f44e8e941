// Every limit the code enforces is listed in docs/ARCHITECTURE.md's "Limits" table: a bound
// added or renamed in code without the table fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../../src/core/params.js';
import { WIRE_LIMITS } from '../../../src/net/wire.js';
import { PEER_LIMITS } from '../../../src/node/peers.js';
import { SYNC_LIMITS } from '../../../src/node/sync.js';
import { DOOR_LIMITS } from '../../../src/node/door.js';
import { DEFAULT_SIGNALING_LIMITS } from '../../../signaling/server.js';
import { READ_LIMITS } from '../../../src/ui/read-only.js';
import { DSMR_LIMITS } from '../../../src/meter/dsmr.js';
import { ADMISSION } from '../../../src/core/replica.js';

const doc = readFileSync(new URL('../../../docs/ARCHITECTURE.md', import.meta.url), 'utf8');
const section = doc.slice(doc.indexOf('\n## Limits'));

describe('the Limits table of ARCHITECTURE.md', () => {
  it('exists', () => expect(section.length).toBeGreaterThan(100));
  const groups: Record<string, object> = { LIMITS, WIRE_LIMITS, PEER_LIMITS, SYNC_LIMITS, DOOR_LIMITS, DEFAULT_SIGNALING_LIMITS, READ_LIMITS, DSMR_LIMITS, ADMISSION };
  for (const [name, limits] of Object.entries(groups)) {
    it(`lists every key of ${name}`, () => {
      const row = section.split('\n').find((l) => l.startsWith(`| \`${name}\``)) ?? '';
      const missing = Object.keys(limits).filter((k) => !row.includes(`\`${k}\``));
      expect(missing, `${name} keys missing from its row`).toEqual([]);
    });
  }
});
