/** The README is the newcomer's reference: every setting of the config table must be documented there. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SETTINGS } from './config';

it('documents every configuration variable in the README', () => {
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const missing = Object.keys(SETTINGS).filter((name) => !readme.includes(`\`${name}\``));
  expect(missing).toEqual([]);
});
