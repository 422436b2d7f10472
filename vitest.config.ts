import { defineConfig } from "vitest/config";

const everything = [
  "packages/**/*.test.ts",
  "adapters/**/*.test.ts",
  "functions/**/*.test.ts",
  "test/**/*.test.ts",
];
// Asserts how fast `npm start` is ready, which only means something on a machine not also
// running the rest of the suite: it runs alone, after everything else.
const alone = ["test/e2e/demo.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Most files wait on sockets, timers and databases rather than the CPU; more files at once than
    // cores keeps the suite to a few minutes on a 2-core machine.
    maxWorkers: 3,
    projects: [
      { extends: true, test: { name: "suite", include: everything, exclude: alone } },
      { extends: true, test: { name: "alone", include: alone, sequence: { groupOrder: 1 } } },
    ],
  },
});
