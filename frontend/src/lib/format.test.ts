import { describe, expect, it } from 'vitest';
import { formatDateTime, formatDetails, formatPersonName, formatStudyDate, lifecycleOf, pageSummary, summarizeUserAgent } from './format';

describe('formatDateTime', () => {
  it('shows an ISO instant in local time and marks a missing one', () => {
    const iso = '2025-03-04T05:06:07.000Z';
    expect(formatDateTime(iso)).toBe(new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }));
    expect(formatDateTime(null)).toBe('—');
    expect(formatDateTime('')).toBe('—');
    expect(formatDateTime('not a date')).toBe('not a date');
  });
});

describe('formatStudyDate', () => {
  it('reads a DICOM date as a calendar date without shifting it across zones', () => {
    expect(formatStudyDate('20240131')).toBe(new Date(2024, 0, 31).toLocaleDateString(undefined, { dateStyle: 'medium' }));
    expect(formatStudyDate('')).toBe('—');
    expect(formatStudyDate('2024')).toBe('2024');
  });
});

describe('formatPersonName', () => {
  it('turns DICOM name components into a readable name', () => {
    expect(formatPersonName('Doe^John')).toBe('Doe, John');
    expect(formatPersonName('Doe^John^Q^Dr^Jr')).toBe('Doe, Dr John Q Jr');
    expect(formatPersonName('Doe^^^^')).toBe('Doe');
    expect(formatPersonName('^John')).toBe('John');
    expect(formatPersonName('Yamada^Tarou=山田^太郎')).toBe('Yamada, Tarou');
  });

  it('leaves plain names (anonymised IDs) alone', () => {
    expect(formatPersonName('Pancreas-CT-CB_001')).toBe('Pancreas-CT-CB_001');
    expect(formatPersonName('')).toBe('—');
  });
});

describe('summarizeUserAgent', () => {
  it('names the browser and system', () => {
    expect(summarizeUserAgent('Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0')).toBe('Firefox on Linux');
    expect(summarizeUserAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0')).toBe(
      'Edge on Windows',
    );
    expect(summarizeUserAgent('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15')).toBe(
      'Safari on macOS',
    );
    expect(summarizeUserAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1')).toBe(
      'Safari on iOS',
    );
    expect(summarizeUserAgent('Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36')).toBe('Chrome on Android');
    expect(summarizeUserAgent('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36')).toBe(
      'Headless Chrome on Linux',
    );
  });

  it('falls back to the product token for tools, and says so when there is nothing', () => {
    expect(summarizeUserAgent('curl/8.5.0')).toBe('curl');
    expect(summarizeUserAgent('python-requests/2.31.0')).toBe('python-requests');
    expect(summarizeUserAgent(null)).toBe('Unknown device');
    expect(summarizeUserAgent('  ')).toBe('Unknown device');
  });
});

describe('pageSummary', () => {
  it('counts from one', () => {
    expect(pageSummary(0, 25, 120)).toBe('Showing 1–25 of 120');
    expect(pageSummary(100, 20, 120)).toBe('Showing 101–120 of 120');
    expect(pageSummary(0, 0, 0)).toBe('No results');
    expect(pageSummary(200, 0, 120)).toBe('Nothing on this page (120 in all)');
  });
});

describe('lifecycleOf', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  const future = '2025-06-02T00:00:00Z';
  const past = '2025-05-01T00:00:00Z';

  it('puts revoked before accepted before expired before active', () => {
    expect(lifecycleOf({ expiresAt: future, revokedAt: past, acceptedAt: past }, now)).toMatchObject({ label: 'Revoked', active: false });
    expect(lifecycleOf({ expiresAt: past, acceptedAt: past }, now)).toMatchObject({ label: 'Accepted', active: false });
    expect(lifecycleOf({ expiresAt: past, revokedAt: null }, now)).toMatchObject({ label: 'Expired', active: false });
    expect(lifecycleOf({ expiresAt: future }, now)).toEqual({ label: 'Active', tone: 'ok', active: true });
    expect(lifecycleOf({ expiresAt: future, acceptedAt: null }, now, 'Pending')).toMatchObject({ label: 'Pending', active: true });
  });
});

describe('formatDetails', () => {
  it('shows details as compact JSON, and nothing when there are none', () => {
    expect(formatDetails({ linkId: 'a', expiresInHours: 24 })).toBe('{"linkId":"a","expiresInHours":24}');
    expect(formatDetails({})).toBe('');
    expect(formatDetails(null)).toBe('');
    expect(formatDetails('plain')).toBe('plain');
  });
});
