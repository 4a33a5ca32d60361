import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { sha256, signAccessToken, signShareToken, verifyAccessToken, verifyShareToken } from './tokens.js';

const secret = new TextEncoder().encode('a'.repeat(32));
const otherSecret = new TextEncoder().encode('b'.repeat(32));

describe('access and share tokens', () => {
  it('round-trips an access token', async () => {
    const token = await signAccessToken(secret, { userId: 'u1', sessionId: 's1' }, 600);
    expect(await verifyAccessToken(secret, token)).toEqual({ ok: true, claims: { userId: 'u1', sessionId: 's1' } });
  });

  it('tells an expired token from a forged or foreign one', async () => {
    const expired = await signAccessToken(secret, { userId: 'u1', sessionId: 's1' }, -5);
    expect(await verifyAccessToken(secret, expired)).toEqual({ ok: false, reason: 'expired' });
    const forged = await signAccessToken(otherSecret, { userId: 'u1', sessionId: 's1' }, 600);
    expect(await verifyAccessToken(secret, forged)).toEqual({ ok: false, reason: 'invalid' });
    expect(await verifyAccessToken(secret, 'not.a.jwt')).toEqual({ ok: false, reason: 'invalid' });
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"u1","sid":"s1","typ":"access"}').toString('base64url')}.`;
    expect(await verifyAccessToken(secret, none)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('never accepts a share token as an access token or the reverse', async () => {
    const share = await signShareToken(secret, { linkId: 'l1', studyInstanceUid: '1.2.3' }, new Date(Date.now() + 60_000));
    expect(await verifyAccessToken(secret, share)).toEqual({ ok: false, reason: 'invalid' });
    expect(await verifyShareToken(secret, share)).toEqual({ ok: true, claims: { linkId: 'l1', studyInstanceUid: '1.2.3' } });
    const access = await signAccessToken(secret, { userId: 'u1', sessionId: 's1' }, 600);
    expect(await verifyShareToken(secret, access)).toEqual({ ok: false, reason: 'invalid' });
    const wrongIssuer = await new SignJWT({ typ: 'access', sid: 's' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u').setIssuer('else').setExpirationTime('1h').sign(secret);
    expect(await verifyAccessToken(secret, wrongIssuer)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('takes standard HS256 tokens from another library, and refuses one without an expiry', async () => {
    const fromJose = await new SignJWT({ typ: 'access', sid: 's2' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u2').setIssuer('preview-dicom').setExpirationTime('1h').sign(secret);
    expect(await verifyAccessToken(secret, fromJose)).toEqual({ ok: true, claims: { userId: 'u2', sessionId: 's2' } });
    const endless = await new SignJWT({ typ: 'access', sid: 's2' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u2').setIssuer('preview-dicom').sign(secret);
    expect(await verifyAccessToken(secret, endless)).toEqual({ ok: false, reason: 'invalid' });
    const hs512 = await new SignJWT({ typ: 'access', sid: 's2' }).setProtectedHeader({ alg: 'HS512' }).setSubject('u2').setIssuer('preview-dicom').setExpirationTime('1h').sign(new TextEncoder().encode('a'.repeat(64)));
    expect(await verifyAccessToken(secret, hs512)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('hashes secrets with SHA-256', () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
