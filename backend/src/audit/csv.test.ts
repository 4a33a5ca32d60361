import { describe, expect, it } from 'vitest';
import { csvCell } from './audit-query.service.js';

describe('audit CSV cells', () => {
  it('quotes separators and quotes, and serialises objects', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell({ reason: 'x' })).toBe('"{""reason"":""x""}"');
    expect(csvCell(null)).toBe('');
  });

  it('defuses spreadsheet formulas', () => {
    expect(csvCell('=HYPERLINK("http://evil")')).toBe(`"'=HYPERLINK(""http://evil"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
  });
});
