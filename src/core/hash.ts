// SHA-256 (FIPS 180-4) via @noble/hashes, plus the domain-separated hashes of the protocol.
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8 } from './bytes.js';

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

/** Hash with a domain tag so a hash of one kind can never be replayed as another. */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Uint8Array {
  const tagBytes = utf8(`gridledger/${tag}`);
  return nobleSha256(concatBytes(new Uint8Array([tagBytes.length]), tagBytes, ...parts));
}
