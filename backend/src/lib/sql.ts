import { sql, type AnyColumn, type SQL } from 'drizzle-orm';

// Wildcards typed by a user are matched literally.
const escapeLike = (value: string) => value.replace(/[\\%_]/g, (m) => `\\${m}`);

/** Case-insensitive substring match (SQLite LIKE is case-insensitive for ASCII). */
export const containsText = (column: AnyColumn, value: string): SQL => sql`${column} LIKE ${`%${escapeLike(value)}%`} ESCAPE '\\'`;

export const startsWithText = (column: AnyColumn, value: string): SQL => sql`${column} LIKE ${`${escapeLike(value)}%`} ESCAPE '\\'`;
