// Runs the type check and every vitest project, then prints the plain summary line
// ("N passed, N failed") that CI reads. Extra arguments go to vitest (e.g. --project unit).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const artifacts = resolve(root, 'artifacts');
mkdirSync(artifacts, { recursive: true });
const resultsFile = resolve(artifacts, 'vitest-results.json');
rmSync(resultsFile, { force: true });

const run = (command, args) => spawnSync(command, args, { cwd: root, stdio: 'inherit', env: process.env }).status ?? 1;

console.log('== Type check');
const typecheckStatus = run('npm', ['run', '--silent', 'typecheck']);
if (typecheckStatus !== 0) console.error('Type check failed.');

console.log('== Tests');
const vitestStatus = run(resolve(root, 'node_modules/.bin/vitest'), [
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${resultsFile}`,
  // Every project unless projects are named (the 60 s load run is npm run test:soak).
  ...(process.argv.slice(2).some((arg) => arg.startsWith('--project')) ? [] : ['--project', 'unit', '--project', 'integration', '--project', 'faults', '--project', 'e2e']),
  ...process.argv.slice(2),
]);

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  passed = results.numPassedTests;
  failed = results.numFailedTests;
  skipped = results.numPendingTests + results.numTodoTests;
  // A file that fails to load counts as a failure even though no test inside it ran.
  failed += results.testResults.filter((file) => file.status === 'failed' && file.assertionResults.length === 0).length;
} catch {
  failed += 1;
}
if (typecheckStatus !== 0) failed += 1;
const ok = vitestStatus === 0 && typecheckStatus === 0 && failed === 0 && passed > 0;
console.log(`\nTests artifacts (screenshots, results): ${artifacts}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(ok ? 0 : 1);
