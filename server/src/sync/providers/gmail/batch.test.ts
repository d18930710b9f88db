import { batchRequestBody, boundaryOf, parseBatchResponse } from './batch';

const part = (contentId: string | null, status: string, body: string, extra = '') =>
  `Content-Type: application/http\r\n${contentId === null ? '' : `Content-ID: ${contentId}\r\n`}\r\nHTTP/1.1 ${status}\r\nContent-Type: application/json; charset=UTF-8\r\n${extra}\r\n${body}\r\n`;

describe('Gmail batch framing', () => {
  it('writes one application/http part per call, path only, numbered Content-IDs', () => {
    const body = batchRequestBody(['/gmail/v1/users/me/messages/a?format=raw', '/gmail/v1/users/me/messages/b?format=raw'], 'b0und');
    expect(body).toBe(
      '--b0und\r\nContent-Type: application/http\r\nContent-ID: <item-1>\r\n\r\nGET /gmail/v1/users/me/messages/a?format=raw\r\n\r\n' +
        '--b0und\r\nContent-Type: application/http\r\nContent-ID: <item-2>\r\n\r\nGET /gmail/v1/users/me/messages/b?format=raw\r\n\r\n--b0und--\r\n',
    );
  });

  it('reads the boundary, quoted or not', () => {
    expect(boundaryOf('multipart/mixed; boundary=batch_abc')).toBe('batch_abc');
    expect(boundaryOf('multipart/mixed; charset=utf-8; boundary="batch x"')).toBe('batch x');
    expect(boundaryOf('application/json')).toBeNull();
  });

  it('pairs answers with calls by Content-ID, whatever their order, each with its own status and headers', () => {
    const body =
      `--B\r\n${part('<response-item-2>', '404 Not Found', '{"error":{"code":404}}')}` +
      `--B\r\n${part('response-item-1', '200 OK', '{"id":"a"}')}` +
      `--B\r\n${part('<response-item-3>', '429 Too Many Requests', '{}', 'Retry-After: 2\r\n')}--B--\r\n`;
    const answers = parseBatchResponse('multipart/mixed; boundary=B', Buffer.from(body));
    expect(answers.get(1)).toEqual({ status: 200, headers: { 'content-type': 'application/json; charset=UTF-8' }, body: Buffer.from('{"id":"a"}') });
    expect(answers.get(2)?.status).toBe(404);
    expect(answers.get(3)).toMatchObject({ status: 429, headers: { 'retry-after': '2' } });
  });

  it('falls back to position only when a part has no Content-ID, and leaves out parts it cannot read', () => {
    const body =
      `--B\r\n${part(null, '200 OK', '{"id":"a"}')}--B\r\n${part('<response-other>', '200 OK', '{}')}` +
      `--B\r\nContent-Type: application/http\r\nContent-ID: <response-item-3>\r\n\r\nnot http\r\n--B--`;
    const answers = parseBatchResponse('multipart/mixed; boundary=B', Buffer.from(body));
    expect([...answers.keys()]).toEqual([1]);
    expect(() => parseBatchResponse('text/plain', Buffer.from(body))).toThrow(/boundary/);
  });

  it('gives each body as bytes, UTF-8 intact, the line break before the next delimiter left out', () => {
    const body = `--B\r\n${part('<response-item-1>', '200 OK', '{"snippet":"Grüße – à bientôt"}')}--B--\r\n`;
    const answer = parseBatchResponse('multipart/mixed; boundary=B', Buffer.from(body)).get(1)!;
    expect(JSON.parse(answer.body.toString('utf8'))).toEqual({ snippet: 'Grüße – à bientôt' });
  });
});
