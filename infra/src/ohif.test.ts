import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rebaseOhifDist, writeOhifAppConfig } from './ohif.js';

function fakeDist() {
  const dir = mkdtempSync(join(tmpdir(), 'pd-ohif-'));
  writeFileSync(
    join(dir, 'index.html'),
    `<script>window.PUBLIC_URL = '/';</script><link rel="manifest" href="/manifest.json"/><script src="/app-config.js"></script><a href="//cdn.example/x">`,
  );
  writeFileSync(join(dir, 'app.bundle.abc.js'), 'x;__webpack_require__.p = "/";y');
  writeFileSync(join(dir, 'compute.bundle.def.js'), '__webpack_require__.p = "/";');
  writeFileSync(join(dir, '123.bundle.js'), 'fetch("/dicom-web")');
  writeFileSync(join(dir, 'app.bundle.css'), '@font-face{src:url(/31fb.woff2)} a{background:url(//cdn/x.png)}');
  return dir;
}

describe('OHIF rebasing to /viewer/', () => {
  it('rewrites PUBLIC_URL, absolute src/href, every webpack public path and CSS urls', () => {
    const dir = fakeDist();
    const report = rebaseOhifDist(dir);
    const index = readFileSync(join(dir, 'index.html'), 'utf8');
    expect(index).toContain("window.PUBLIC_URL = '/viewer/'");
    expect(index).toContain('href="/viewer/manifest.json"');
    expect(index).toContain('src="/viewer/app-config.js"');
    expect(index).toContain('href="//cdn.example/x"');
    expect(report.webpackPublicPathFiles.sort()).toEqual(['app.bundle.abc.js', 'compute.bundle.def.js']);
    expect(readFileSync(join(dir, 'compute.bundle.def.js'), 'utf8')).toBe('__webpack_require__.p = "/viewer/";');
    expect(readFileSync(join(dir, '123.bundle.js'), 'utf8')).toBe('fetch("/dicom-web")');
    expect(readFileSync(join(dir, 'app.bundle.css'), 'utf8')).toBe('@font-face{src:url(/viewer/31fb.woff2)} a{background:url(//cdn/x.png)}');
  });

  it('refuses a dist whose main bundle it does not recognise', () => {
    const dir = fakeDist();
    writeFileSync(join(dir, 'app.bundle.abc.js'), 'something else');
    expect(() => rebaseOhifDist(dir)).toThrow(/laid out differently/);
  });

  it('writes an app-config whose only data source is the gateway', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-ohif-'));
    writeFileSync(join(dir, 'index.html'), '<html><head><title>x</title></head></html>');
    writeOhifAppConfig(dir, { dicomUploadEnabled: false });
    writeOhifAppConfig(dir, { dicomUploadEnabled: false });
    // The session keep-alive script is added once, however often the config is written.
    expect(readFileSync(join(dir, 'index.html'), 'utf8').match(/preview-dicom-session\.js/g)).toHaveLength(1);
    expect(readFileSync(join(dir, 'preview-dicom-session.js'), 'utf8')).toContain('/api/auth/refresh');
    const source = readFileSync(join(dir, 'app-config.js'), 'utf8');
    const window: { config?: { routerBasename: string; dataSources: { configuration: { qidoRoot: string; wadoRoot: string } }[] } } = {};
    new Function('window', source)(window);
    expect(window.config!.routerBasename).toBe('/viewer');
    expect(window.config!.dataSources).toHaveLength(1);
    expect(window.config!.dataSources[0]!.configuration.qidoRoot).toBe('/dicom-web');
    expect(window.config!.dataSources[0]!.configuration.wadoRoot).toBe('/dicom-web');
    expect(source).not.toMatch(/https?:\/\//);
  });
});
