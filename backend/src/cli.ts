// Administrative commands the stack launcher runs: `tsx src/cli.ts bootstrap-admin <email>`.
// Prints one JSON line on stdout so the launcher can parse it.
import { z } from 'zod';
import { bootstrapFirstAdmin } from './admin/bootstrap.js';
import { loadConfig } from './config.js';
import { openDatabase } from './db/client.js';

const [command, ...args] = process.argv.slice(2);

if (command === 'bootstrap-admin') {
  const email = z.email().safeParse(args[0]);
  if (!email.success) {
    console.error(`bootstrap-admin needs a valid e-mail address, got ${JSON.stringify(args[0] ?? '')}`);
    process.exit(2);
  }
  const db = openDatabase(loadConfig().databasePath);
  const result = await bootstrapFirstAdmin({ db, input: { email: email.data } });
  db.$client.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else if (command === 'migrate') {
  openDatabase(loadConfig().databasePath).$client.close();
  process.stdout.write('{"migrated":true}\n');
} else {
  console.error('usage: cli.ts bootstrap-admin <email> | migrate');
  process.exit(2);
}
