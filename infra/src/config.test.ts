import { describe, expect, it } from 'vitest';
import { loadStackConfig, StackConfigError } from './config.js';

describe('stack configuration', () => {
  it('has working defaults for a local stack', () => {
    const config = loadStackConfig({});
    expect(config.ports).toEqual({ http: 8080, backend: 8081, orthancHttp: 8042, orthancDicom: 4242, redis: 6380 });
    expect(config.publicUrl).toBe('http://localhost:8080');
    expect(config.runtimeDir).toMatch(/\/runtime$/);
    expect(config.tls).toBeNull();
    expect(config.maxUploadSize).toBe('20g');
  });

  it('names the variable and the problem for bad values', () => {
    expect(() => loadStackConfig({ PD_HTTP_PORT: 'eighty' })).toThrow(StackConfigError);
    expect(() => loadStackConfig({ PD_HTTP_PORT: 'eighty' })).toThrow(/PD_HTTP_PORT/);
    expect(() => loadStackConfig({ PD_REDIS_PORT: '70000' })).toThrow(/PD_REDIS_PORT/);
    expect(() => loadStackConfig({ PD_ADMIN_EMAIL: 'not-an-address' })).toThrow(/PD_ADMIN_EMAIL/);
    expect(() => loadStackConfig({ PD_MAX_UPLOAD_SIZE: '20 gigabytes' })).toThrow(/PD_MAX_UPLOAD_SIZE/);
  });

  it('refuses two services on one port and half a TLS configuration', () => {
    expect(() => loadStackConfig({ PD_HTTP_PORT: '9000', PD_BACKEND_PORT: '9000' })).toThrow(/Port 9000 is configured for two services/);
    expect(() => loadStackConfig({ PD_TLS_CERT: '/etc/ssl/cert.pem' })).toThrow(/PD_TLS_CERT and PD_TLS_KEY/);
  });

  it('derives an https public URL when TLS is on', () => {
    const config = loadStackConfig({ PD_TLS_CERT: '/c.pem', PD_TLS_KEY: '/k.pem', PD_HTTP_PORT: '8443' });
    expect(config.publicUrl).toBe('https://localhost:8443');
    expect(config.tls).toEqual({ cert: '/c.pem', key: '/k.pem' });
  });
});
