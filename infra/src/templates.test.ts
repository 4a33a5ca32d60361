import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonString, renderTemplate } from './templates.js';

describe('template rendering', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pd-tmpl-'));
  const template = join(dir, 't.tmpl');
  writeFileSync(template, 'port {{PORT}}; name "{{NAME}}";');

  it('fills every placeholder', () => {
    expect(renderTemplate(template, { PORT: 80, NAME: 'x' })).toBe('port 80; name "x";');
  });

  it('fails on a missing value and on an unused one', () => {
    expect(() => renderTemplate(template, { PORT: 80 })).toThrow(/no value for \{\{NAME\}\}/);
    expect(() => renderTemplate(template, { PORT: 80, NAME: 'x', EXTRA: 1 })).toThrow(/not used: EXTRA/);
  });

  it('escapes values for JSON string slots', () => {
    expect(jsonString('a"b\\c')).toBe('a\\"b\\\\c');
  });
});
