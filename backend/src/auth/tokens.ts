import { createHash, randomBytes } from 'node:crypto';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';

const ISSUER = 'preview-dicom';

export type AccessClaims = { userId: string; sessionId: string };
export type ShareClaims = { linkId: string; studyInstanceUid: string };

export type VerifyResult<T> = { ok: true; claims: T } | { ok: false; reason: 'expired' | 'invalid' };

type Payload = Record<string, unknown>;

/**
 * Signer and verifier built once per secret. fast-jwt checks HS256 synchronously with
 * node:crypto; WebCrypto (jose) sent every check through the thread pool, about half a
 * millisecond of every authenticated request.
 */
const jwtTools = new WeakMap<Uint8Array, { sign: (payload: Payload) => string; verify: (token: string) => Payload }>();
function toolsFor(secret: Uint8Array) {
  let tools = jwtTools.get(secret);
  if (!tools) {
    const key = Buffer.from(secret);
    tools = {
      sign: createSigner({ key, algorithm: 'HS256', iss: ISSUER }),
      verify: createVerifier({ key, algorithms: ['HS256'], allowedIss: ISSUER, requiredClaims: ['exp', 'iss'] }),
    };
    jwtTools.set(secret, tools);
  }
  return tools;
}

function verifyToken(secret: Uint8Array, token: string): { ok: true; payload: Payload } | { ok: false; reason: 'expired' | 'invalid' } {
  try {
    return { ok: true, payload: toolsFor(secret).verify(token) };
  } catch (error) {
    return { ok: false, reason: error instanceof TokenError && error.code === TokenError.codes.expired ? 'expired' : 'invalid' };
  }
}

/** Opaque random secrets (refresh tokens, invitation and API token secrets). */
export const randomSecret = (bytes = 32) => randomBytes(bytes).toString('base64url');

/** Only hashes of secrets are stored, so a database or Redis dump cannot be replayed. */
export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

export async function signAccessToken(secret: Uint8Array, claims: AccessClaims, ttlSeconds: number): Promise<string> {
  return toolsFor(secret).sign({ sid: claims.sessionId, typ: 'access', sub: claims.userId, exp: Math.floor(Date.now() / 1000) + ttlSeconds });
}

export async function verifyAccessToken(secret: Uint8Array, token: string): Promise<VerifyResult<AccessClaims>> {
  const verified = verifyToken(secret, token);
  if (!verified.ok) return verified;
  const { payload } = verified;
  if (payload.typ !== 'access' || typeof payload.sid !== 'string' || typeof payload.sub !== 'string' || !payload.sub) return { ok: false, reason: 'invalid' };
  return { ok: true, claims: { userId: payload.sub, sessionId: payload.sid } };
}

export async function signShareToken(secret: Uint8Array, claims: ShareClaims, expiresAt: Date): Promise<string> {
  return toolsFor(secret).sign({ typ: 'share', study: claims.studyInstanceUid, jti: claims.linkId, exp: Math.floor(expiresAt.getTime() / 1000) });
}

export async function verifyShareToken(secret: Uint8Array, token: string): Promise<VerifyResult<ShareClaims>> {
  const verified = verifyToken(secret, token);
  if (!verified.ok) return verified;
  const { payload } = verified;
  if (payload.typ !== 'share' || typeof payload.study !== 'string' || typeof payload.jti !== 'string' || !payload.jti) return { ok: false, reason: 'invalid' };
  return { ok: true, claims: { linkId: payload.jti, studyInstanceUid: payload.study } };
}
