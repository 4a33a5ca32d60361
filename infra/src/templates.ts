import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { repoRoot } from './config.js';

/**
 * Renders `{{NAME}}` placeholders. Fails on a placeholder without a value and on a
 * value that was never used, so a template and its caller cannot drift apart silently.
 */
export function renderTemplate(templatePath: string, values: Record<string, string | number>): string {
  const template = readFileSync(resolve(repoRoot, templatePath), 'utf8');
  const used = new Set<string>();
  const rendered = template.replace(/\{\{([A-Z0-9_]+)\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`${templatePath}: no value for {{${name}}}`);
    used.add(name);
    return String(values[name]);
  });
  const unused = Object.keys(values).filter((name) => !used.has(name));
  if (unused.length) throw new Error(`${templatePath}: values given but not used: ${unused.join(', ')}`);
  return rendered;
}

/** JSON-escapes a value for a string slot inside a JSON template (without the quotes). */
export const jsonString = (value: string) => JSON.stringify(value).slice(1, -1);
