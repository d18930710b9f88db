import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProviderError } from '../port';
import { GraphMailboxClient, graphPathFromLink, query } from './client';
import { RequestGate } from '../common/gate';

const API = 'https://graph.example.test';

describe('graphPathFromLink', () => {
  it('makes links on GRAPH_API_URL relative to /v1.0', () => {
    expect(graphPathFromLink(`${API}/v1.0/me/mailFolders('AQMk')/messages/delta?$skiptoken=abc`, API)).toBe(
      "/me/mailFolders('AQMk')/messages/delta?$skiptoken=abc",
    );
    expect(graphPathFromLink('https://proxy.test/graph/v1.0/me/messages?$skip=10', 'https://proxy.test/graph/')).toBe('/me/messages?$skip=10');
  });

  it.each([
    ['another host', 'https://evil.test/v1.0/me/messages'],
    ['another port', 'https://graph.example.test:8443/v1.0/me/messages'],
    ['plain http', 'http://graph.example.test/v1.0/me/messages'],
    ['another version', `${API}/beta/me/messages`],
    ['credentials', 'https://user:pw@graph.example.test/v1.0/me'],
    ['not a URL', '/v1.0/me/messages'],
  ])('refuses %s with ProviderError invalid', (_name, link) => {
    expect(() => graphPathFromLink(link, API)).toThrow(ProviderError);
    try {
      graphPathFromLink(link, API);
    } catch (err) {
      expect((err as ProviderError).code).toBe('invalid');
    }
  });
});

it('encodes query values, which the Graph client joins as given', () => {
  expect(query({ $filter: "internetMessageId eq '<a+b@x.test>'", $top: 10, $skip: undefined })).toBe(
    "?$filter=internetMessageId%20eq%20'%3Ca%2Bb%40x.test%3E'&$top=10",
  );
});

describe('a plain-http GRAPH_API_URL (a local proxy or emulator: allowed)', () => {
  let server: http.Server;
  let root: string;
  const seen: { url?: string; authorization?: string }[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push({ url: req.url, authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'me-1', mail: 'grace@contoso.test' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('sends the mailbox token with every request, which the library itself would drop over http', async () => {
    const tokens = { accessToken: async () => 'token-1', invalidate: () => undefined };
    const client = new GraphMailboxClient({ apiUrl: root, tokens, gate: new RequestGate({ maxInFlight: 4 }) });
    expect(await client.get<{ id: string }>('/me')).toEqual({ id: 'me-1', mail: 'grace@contoso.test' });
    expect(seen.at(-1)).toEqual({ url: '/v1.0/me', authorization: 'Bearer token-1' });
  });

  it('never sends the token to another origin', async () => {
    const tokens = { accessToken: async () => 'token-1', invalidate: () => undefined };
    const client = new GraphMailboxClient({ apiUrl: root, tokens, gate: new RequestGate({ maxInFlight: 4 }) });
    const before = seen.length;
    await expect(client.get('https://evil.test/v1.0/me')).rejects.toThrow(/outside GRAPH_API_URL/);
    expect(seen.length).toBe(before);
  });
});
