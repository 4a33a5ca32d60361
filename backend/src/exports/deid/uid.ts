import { createHmac } from 'node:crypto';

/**
 * A deterministic UID mapper for DeidContext.mapUid: 2.25.<decimal of a UUID>, where the UUID is
 * the first 128 bits of HMAC-SHA256(secret, uid) with the RFC 9562 version 8 (custom) and variant
 * bits set. The same secret maps the same UID to the same output in every process, so exports
 * made at different times can still be joined; a different secret gives unrelated UIDs.
 */
export function createUidMapper(secret: string | Buffer): (uid: string) => string {
  const cache = new Map<string, string>();
  return (uid: string) => {
    let mapped = cache.get(uid);
    if (!mapped) {
      const bytes = createHmac('sha256', secret).update(uid).digest().subarray(0, 16);
      bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
      bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
      mapped = `2.25.${BigInt(`0x${bytes.toString('hex')}`).toString()}`;
      cache.set(uid, mapped);
    }
    return mapped;
  };
}
