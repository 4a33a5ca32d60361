/** Display helpers: every time is shown in the browser's own time zone and locale. */

const NONE = '—';

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return NONE;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A DICOM date (YYYYMMDD) as a local calendar date; it has no time zone, so none is applied. */
export function formatStudyDate(dicomDate: string): string {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(dicomDate.trim());
  if (!match) return dicomDate.trim() || NONE;
  const [, year, month, day] = match.map(Number) as [number, number, number, number];
  return new Date(year, month - 1, day).toLocaleDateString(undefined, { dateStyle: 'medium' });
}

/** A DICOM person name (Family^Given^Middle^Prefix^Suffix) as "Family, Prefix Given Middle Suffix". */
export function formatPersonName(dicomName: string): string {
  // Ideographic and phonetic forms follow after '='; the alphabetic one comes first.
  const alphabetic = dicomName.split('=')[0] ?? '';
  if (!alphabetic.includes('^')) return alphabetic.trim() || NONE;
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = alphabetic.split('^').map((part) => part.trim());
  const rest = [prefix, given, middle, suffix].filter(Boolean).join(' ');
  if (!family) return rest || NONE;
  return rest ? `${family}, ${rest}` : family;
}

const browsers: [RegExp, string][] = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\bOPR\//, 'Opera'],
  [/\b(Firefox|FxiOS)\//, 'Firefox'],
  [/\b(Chrome|CriOS|Chromium)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/\bcurl\//, 'curl'],
];
const systems: [RegExp, string][] = [
  [/\bWindows NT\b/, 'Windows'],
  [/\bAndroid\b/, 'Android'],
  [/\b(iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

/** "Firefox on Linux" from a User-Agent header; the full header stays available as a tooltip. */
export function summarizeUserAgent(userAgent: string | null | undefined): string {
  if (!userAgent?.trim()) return 'Unknown device';
  const headless = /\bHeadlessChrome\//.test(userAgent);
  const browser = headless ? 'Headless Chrome' : browsers.find(([pattern]) => pattern.test(userAgent))?.[1];
  const system = systems.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  if (browser) return browser;
  // Scripts and tools: their product token ("python-requests/2.31") is the best name there is.
  const product = userAgent.trim().split(/[\s/]/, 1)[0] ?? '';
  return system ? `${product || 'Browser'} on ${system}` : product || 'Unknown device';
}

/** "Showing 26–50 of 120" for a page of results. */
export function pageSummary(offset: number, shown: number, total: number): string {
  if (total === 0 || shown === 0) return total === 0 ? 'No results' : `Nothing on this page (${total} in all)`;
  return `Showing ${offset + 1}–${offset + shown} of ${total}`;
}

export type Tone = 'ok' | 'bad' | 'muted' | 'warn';

export type Lifecycle = { label: string; tone: Tone; active: boolean };

/** Where a token, share link or invitation stands: revoked, used up, expired, or still usable. */
export function lifecycleOf(
  item: { expiresAt: string; revokedAt?: string | null; acceptedAt?: string | null },
  now: number = Date.now(),
  activeLabel = 'Active',
): Lifecycle {
  if (item.revokedAt) return { label: 'Revoked', tone: 'muted', active: false };
  if (item.acceptedAt) return { label: 'Accepted', tone: 'ok', active: false };
  if (new Date(item.expiresAt).getTime() <= now) return { label: 'Expired', tone: 'muted', active: false };
  return { label: activeLabel, tone: 'ok', active: true };
}

/** Audit details as one compact line; nothing for empty details. */
export function formatDetails(details: unknown): string {
  if (details === null || details === undefined) return '';
  if (typeof details === 'string') return details;
  if (typeof details === 'object' && Object.keys(details).length === 0) return '';
  return JSON.stringify(details);
}

const roleLabels: Record<string, string> = { admin: 'Admin', researcher: 'Researcher', radiologist: 'Radiologist' };

export function roleLabel(role: string | null | undefined): string {
  if (!role) return NONE;
  return roleLabels[role] ?? role;
}
