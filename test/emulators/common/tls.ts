/**
 * A throwaway certificate authority and a loopback server certificate signed by it.
 *
 * The real providers are https-only, and some client libraries behave differently on http (the Graph client only
 * attaches tokens to https URLs, docs/PROVIDERS.md), so the emulators also serve https. Node trusts the CA through
 * `NODE_EXTRA_CA_CERTS=<caFile>` in a child process, or through an `https.Agent({ ca })` in-process.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';

export interface TestCa {
  caPem: string;
  /** PEM file holding only the CA certificate: usable as NODE_EXTRA_CA_CERTS. */
  caFile: string;
  serverKeyPem: string;
  serverCertPem: string;
}

// Backdate validity a little so a child process with a slightly different clock still accepts it.
const backdatedNow = (): Date => new Date(Date.now() - 60 * 60 * 1000);
const inDays = (days: number): Date => new Date(Date.now() + days * 24 * 60 * 60 * 1000);

export async function createTestCa(dir?: string): Promise<TestCa> {
  const ca = await generate([{ name: 'commonName', value: 'Threadline Test CA' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: backdatedNow(),
    notAfterDate: inDays(30),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: backdatedNow(),
    notAfterDate: inDays(30),
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  const folder = dir ?? (await mkdtemp(path.join(os.tmpdir(), 'threadline-ca-')));
  const caFile = path.join(folder, 'test-ca.pem');
  await writeFile(caFile, ca.cert, { mode: 0o644 });
  return { caPem: ca.cert, caFile, serverKeyPem: server.private, serverCertPem: server.cert };
}
