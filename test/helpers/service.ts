/** Builds the real service (server/src/server.ts) for API tests, on the test database, with test settings. */
import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../server/src/config';
import { createLogger } from '../../server/src/logger';
import { buildService, type Service } from '../../server/src/server';

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    PUBLIC_URL: 'http://127.0.0.1:3999',
    JWT_SECRET: randomBytes(32).toString('hex'),
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'silent',
    ...env,
  });
}

export function testService(env: Record<string, string> = {}): Service & { config: Config } {
  const config = testConfig(env);
  return { ...buildService(config, createLogger('silent')), config };
}
