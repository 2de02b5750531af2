import { defineConfig } from 'vitest/config';

// Unit tests cover the plain TS modules (call state machine, signaling,
// stats, media errors); they run in Node with fakes, no DOM needed.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
  },
});
