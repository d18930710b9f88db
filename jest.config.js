const { existsSync } = require('node:fs');

/**
 * Test tiers by file name (README.md, "Project layout"): *.test.ts pure, *.db.test.ts real embedded database,
 * *.e2e.test.ts across processes.
 */
module.exports = {
  testEnvironment: 'node',
  // Only folders that exist: git keeps no empty folder, so a fresh clone may lack one until its code lands.
  roots: ['server', 'shared', 'test', 'gmail-addon', 'outlook-addin'].filter((d) => existsSync(`${__dirname}/${d}`)).map((d) => `<rootDir>/${d}`),
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: { '^.+\\.tsx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  testTimeout: 30000,
  maxWorkers: 2,
};
