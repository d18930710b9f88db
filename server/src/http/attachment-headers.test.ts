import { contentDisposition, safeMimeType } from './message-read-routes';

describe('attachment headers', () => {
  it('always names the file as a download, with an ASCII fallback and the exact UTF-8 name', () => {
    expect(contentDisposition('report.pdf')).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
    expect(contentDisposition('a\r\nSet-Cookie: x.txt')).not.toMatch(/[\r\n]/);
    expect(contentDisposition('../../etc/passwd')).toContain('filename=".._.._etc_passwd"');
    expect(contentDisposition('')).toContain('filename="attachment"');
  });
  it('keeps only well-formed media types', () => {
    expect(safeMimeType('Application/PDF')).toBe('application/pdf');
    expect(safeMimeType('text/html; charset=utf-8')).toBe('application/octet-stream');
    expect(safeMimeType('nonsense')).toBe('application/octet-stream');
  });
});
