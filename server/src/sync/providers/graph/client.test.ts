import { ProviderError } from '../port';
import { GraphMailboxClient, graphPathFromLink, query } from './client';
import { RequestGate } from '../shared/gate';

const API = 'https://graph.example.test';

describe('graphPathFromLink', () => {
  it('makes links on GRAPH_API_URL relative to /v1.0', () => {
    expect(graphPathFromLink(`${API}/v1.0/me/mailFolders('AQMk')/messages/delta?$skiptoken=abc`, API)).toBe("/me/mailFolders('AQMk')/messages/delta?$skiptoken=abc");
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

it('refuses a non-https GRAPH_API_URL, to which the client would send no token', () => {
  const tokens = { accessToken: async () => 't', invalidate: () => undefined };
  expect(() => new GraphMailboxClient({ apiUrl: 'http://127.0.0.1:1', tokens, gate: new RequestGate({ maxInFlight: 4 }) })).toThrow(/https/);
});
