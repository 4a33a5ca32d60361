import { defineConfig } from 'vitest/config';

// Three layers: unit tests beside the code, integration tests against real Orthanc and
// Redis (backend/test), and end-to-end tests of the whole stack in Chromium (frontend/e2e).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['backend/src/**/*.test.ts', 'infra/src/**/*.test.ts', 'frontend/src/**/*.test.{ts,tsx}', 'bench/lib/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['backend/test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Fault injection (backend killed, Orthanc and Redis stopped): one file at a time, since
        // each test stops and starts processes and times how fast the answers come.
        test: {
          name: 'faults',
          include: ['soak/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['frontend/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
