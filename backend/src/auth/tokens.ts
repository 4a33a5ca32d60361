import { createHash, randomBytes } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';

const ISSUER = 'preview-dicom';

export type AccessClaims = { userId: string; sessionId: string };
export type ShareClaims = { linkId: string; studyInstanceUid: string };

export type VerifyResult<T> = { ok: true; claims: T } | { ok: false; reason: 'expired' | 'invalid' };

/**
 * The HMAC key imported once per secret: handing jose the raw bytes made it import the key
 * again on every request (a third of a token check's time).
 */
const hmacKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();
function hmacKey(secret: Uint8Array): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', new Uint8Array(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    hmacKeys.set(secret, key);
  }
  return key;
}

/** Opaque random secrets (refresh tokens, invitation and API token secrets). */
export const randomSecret = (bytes = 32) => randomBytes(bytes).toString('base64url');

/** Only hashes of secrets are stored, so a database or Redis dump cannot be replayed. */
export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

export async function signAccessToken(secret: Uint8Array, claims: AccessClaims, ttlSeconds: number): Promise<string> {
  return new SignJWT({ sid: claims.sessionId, typ: 'access' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.userId)
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(await hmacKey(secret));
}

export async function verifyAccessToken(secret: Uint8Array, token: string): Promise<VerifyResult<AccessClaims>> {
  try {
    const { payload } = await jwtVerify(token, await hmacKey(secret), { issuer: ISSUER, algorithms: ['HS256'] });
    if (payload.typ !== 'access' || typeof payload.sid !== 'string' || !payload.sub) return { ok: false, reason: 'invalid' };
    return { ok: true, claims: { userId: payload.sub, sessionId: payload.sid } };
  } catch (error) {
    return { ok: false, reason: error instanceof errors.JWTExpired ? 'expired' : 'invalid' };
  }
}

export async function signShareToken(secret: Uint8Array, claims: ShareClaims, expiresAt: Date): Promise<string> {
  return new SignJWT({ typ: 'share', study: claims.studyInstanceUid })
    .setProtectedHeader({ alg: 'HS256' })
    .setJti(claims.linkId)
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(await hmacKey(secret));
}

export async function verifyShareToken(secret: Uint8Array, token: string): Promise<VerifyResult<ShareClaims>> {
  try {
    const { payload } = await jwtVerify(token, await hmacKey(secret), { issuer: ISSUER, algorithms: ['HS256'] });
    if (payload.typ !== 'share' || typeof payload.study !== 'string' || !payload.jti) return { ok: false, reason: 'invalid' };
    return { ok: true, claims: { linkId: payload.jti, studyInstanceUid: payload.study } };
  } catch (error) {
    return { ok: false, reason: error instanceof errors.JWTExpired ? 'expired' : 'invalid' };
  }
}
