import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const secret = 'x'.repeat(32);

describe('backend configuration', () => {
  it('has defaults for everything but the JWT secret', () => {
    expect(() => loadConfig({})).toThrow(/PD_JWT_SECRET: is required/);
  });

  it('has working defaults', () => {
    const config = loadConfig({ PD_JWT_SECRET: secret });
    expect(config.port).toBe(8081);
    expect(config.publicUrl.origin).toBe('http://localhost:8080');
    expect(config.secureCookies).toBe(false);
    expect(config.inference).toEqual({ url: null, required: false, timeoutMs: 300_000, authHeader: null, attempts: 3, backoffMs: 5_000, concurrency: 1, lockMs: 60_000 });
    expect(loadConfig({ PD_JWT_SECRET: 'x'.repeat(32), PD_INFERENCE_AUTH_HEADER: 'Authorization: Bearer abc' }).inference.authHeader).toEqual({ name: 'Authorization', value: 'Bearer abc' });
    expect(config.sessionTtlSeconds).toBe(43_200);
  });

  it('derives Secure cookies from an https public URL and trims trailing slashes', () => {
    const config = loadConfig({ PD_JWT_SECRET: secret, PD_PUBLIC_URL: 'https://pacs.example.org', PD_ORTHANC_URL: 'http://orthanc:8042/', PD_INFERENCE_URL: 'http://infer:8000/' });
    expect(config.secureCookies).toBe(true);
    expect(config.orthanc.url).toBe('http://orthanc:8042');
    expect(config.inference.url).toBe('http://infer:8000');
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PD_JWT_SECRET: 'short', PD_BACKEND_PORT: '99999', PD_REDIS_URL: 'http://redis', PD_INFERENCE_REQUIRED: 'maybe' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('PD_BACKEND_PORT');
    expect(message).toContain('PD_REDIS_URL: must start with redis:// or rediss://');
    expect(message).toContain('PD_INFERENCE_REQUIRED');
    expect(message).toContain('PD_JWT_SECRET: must be at least 32 characters');
  });
});
