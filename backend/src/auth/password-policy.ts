import { dictionary } from '@zxcvbn-ts/language-common';

// zxcvbn-ts ships the most common leaked passwords (about 49 000); we only need exact matches.
const commonPasswords = new Set<string>((dictionary.passwords as string[]).map((p) => p.toLowerCase()));

/** Returns why a new password is not acceptable, or null when it is. */
export function passwordProblem(password: string, options: { minLength: number; email?: string }): string | null {
  if (password.length < options.minLength) return `The password must be at least ${options.minLength} characters long.`;
  if (password.length > 1024) return 'The password must be at most 1024 characters long.';
  const lower = password.toLowerCase();
  if (commonPasswords.has(lower)) return 'This password is among the most common ones and easy to guess. Choose another.';
  if (/^(.)\1+$/.test(password)) return 'The password must not be one character repeated.';
  const localPart = options.email?.split('@')[0]?.toLowerCase();
  if (localPart && localPart.length >= 4 && lower.includes(localPart)) return 'The password must not contain your e-mail name.';
  return null;
}
