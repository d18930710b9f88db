import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseMessage } from './parse';
import { sanitizeEmailHtml } from './sanitize';

const clean = (html: string, cidMap?: Record<string, string>) => sanitizeEmailHtml(html, { cidMap }).html;

/** Nothing in the output can run script, navigate, or fetch from the network on its own. */
function expectInert(html: string): void {
  expect(html).not.toMatch(/<script|<iframe|<object|<embed|<form|<input|<button|<svg|<math|<meta|<base|<link|<style/i);
  expect(html).not.toMatch(/\son[a-z]+\s*=/i);
  expect(html).not.toMatch(/javascript:|vbscript:|expression\(|url\(|@import|image-set/i);
  expect(html).not.toMatch(/\ssrc="https?:/i);
  expect(html).not.toMatch(/href="data:/i);
}

describe('sanitizeEmailHtml', () => {
  it('keeps ordinary email markup', () => {
    const html = '<table width="600" cellpadding="0"><tr><td align="center" style="color:#333;padding:8px"><p><b>Hi</b> <i>there</i></p></td></tr></table>';
    expect(clean(html)).toBe(
      '<table width="600" cellpadding="0"><tr><td align="center" style="color:#333;padding:8px"><p><b>Hi</b> <i>there</i></p></td></tr></table>',
    );
  });

  it('removes scripts with their content', () => {
    const out = clean('<p>a</p><script>alert(1)</script><script src="https://evil.example/x.js"></script><p>b</p>');
    expect(out).toBe('<p>a</p><p>b</p>');
  });

  it('removes event handlers', () => {
    const out = clean('<img src="x" onerror="alert(1)"><div onclick="alert(1)" onmouseover=alert(1)>t</div><body onload=alert(1)>');
    expectInert(out);
    expect(out).toContain('<div>t</div>');
  });

  it('drops javascript:, vbscript: and data: links in any disguise, keeping the text', () => {
    const out = clean(
      '<a href="javascript:alert(1)">a</a><a href="JaVaScRiPt:alert(1)">b</a><a href="java&#x09;script:alert(1)">c</a>' +
        '<a href="&#106;avascript:alert(1)">d</a><a href=" javascript:alert(1)">e</a><a href="vbscript:x">f</a>' +
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">g</a>',
    );
    expectInert(out);
    expect(out).not.toContain('href');
    expect(out.replace(/<[^>]+>/g, '')).toBe('abcdefg');
  });

  it('opens links in a new tab without opener or referrer, whatever the message asked', () => {
    expect(clean('<a href="https://globex.example/q?a=1&amp;b=2" target="_self" rel="opener">quote</a>')).toBe(
      '<a href="https://globex.example/q?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">quote</a>',
    );
    expect(clean('<a href="mailto:helen@globex.example">mail</a>')).toContain('href="mailto:helen@globex.example"');
  });

  it('removes svg (with onload), math, iframes, objects, embeds, forms', () => {
    const out = clean(
      '<svg onload="alert(1)"><circle r="1"/></svg><math><mi>x</mi></math><iframe src="https://evil.example"></iframe>' +
        '<object data="x.swf"></object><embed src="x.swf"><form action="https://evil.example"><input name="pw"><button>Go</button></form>ok',
    );
    expectInert(out);
    expect(out).toContain('ok');
  });

  it('removes meta refresh, base, link and style blocks (with their CSS)', () => {
    const out = clean(
      '<html><head><title>Secret title</title><meta http-equiv="refresh" content="0;url=https://evil.example">' +
        '<base href="https://evil.example/"><link rel="stylesheet" href="https://evil.example/a.css">' +
        '<style>@import url(https://evil.example/x.css); body { background: url(https://t.example/p.gif) }</style>' +
        '</head><body><p>Body</p></body></html>',
    );
    expectInert(out);
    expect(out).toBe('<p>Body</p>');
  });

  it('filters inline CSS: layout and colours stay, anything that can fetch or run goes', () => {
    const out = clean(
      '<p style="color:red;background-image:url(https://t.example/p.gif);font-family:\'Helvetica Neue\', Arial;width:calc(100% - 2px);background:rgb(1, 2, 3)">a</p>' +
        '<p style="background:url(&quot;https://t.example/p.gif&quot;)">b</p>' +
        '<p style="width:expression(alert(1))">c</p>' +
        '<p style="background:u\\72l(https://t.example/p.gif)">d</p>' +
        '<p style="background-image:image-set(\'https://t.example/p.gif\' 1x)">e</p>' +
        '<p style="behavior:url(x.htc);-moz-binding:url(x.xml)">f</p>' +
        '<p style="position:fixed;top:0;z-index:9999">g</p>',
    );
    expectInert(out);
    expect(out).toContain(`<p style="color:red;font-family:'Helvetica Neue', Arial;width:calc(100% - 2px);background:rgb(1, 2, 3)">a</p>`);
    expect(out).toContain('<p>b</p><p>c</p><p>d</p><p>e</p><p>f</p><p>g</p>');
  });

  it('does not load remote images: moves them to data-remote-src and counts them', () => {
    const result = sanitizeEmailHtml(
      '<img src="https://t.example/open.gif" width="1" height="1"><img src="HTTP://cdn.example/a.png" alt="logo">' +
        '<img src="//cdn.example/b.png"><img src=" https://cdn.example/c.png ">',
    );
    expect(result.blockedRemoteImages).toBe(4);
    expect(result.html).toBe(
      '<img width="1" height="1" data-remote-src="https://t.example/open.gif" />' +
        '<img alt="logo" data-remote-src="http://cdn.example/a.png" />' +
        '<img data-remote-src="https://cdn.example/b.png" />' +
        '<img data-remote-src="https://cdn.example/c.png" />',
    );
    expectInert(result.html);
  });

  it('drops remote background attributes and srcset without loading them', () => {
    const out = clean(
      '<table background="https://t.example/bg.png"><tr><td background="https://t.example/bg2.png">x</td></tr></table><img srcset="https://t.example/a.png 2x">',
    );
    expect(out).not.toContain('t.example');
  });

  it('maps cid: images through cidMap and marks unmapped ones', () => {
    const out = clean('<img src="cid:Logo.7c1f@acme-robotics.com"><img src="cid:%3Cchart@x%3E"><img src="cid:unknown@x">', {
      '<logo.7c1f@acme-robotics.com>': '/api/messages/m1/attachments/2.2',
      'chart@x': '/api/messages/m1/attachments/2.3',
    });
    expect(out).toBe('<img src="/api/messages/m1/attachments/2.2" /><img src="/api/messages/m1/attachments/2.3" /><img data-cid="unknown@x" />');
  });

  it('keeps raster data: images, refuses svg and html data: URIs', () => {
    const out = clean('<img src="data:image/png;base64,iVBORw0KGgo="><img src="data:image/svg+xml;base64,PHN2Zz4="><img src="data:text/html,<script>">');
    expect(out).toBe('<img src="data:image/png;base64,iVBORw0KGgo=" /><img /><img />');
  });

  it('ignores a data-remote-src the message itself supplied', () => {
    const result = sanitizeEmailHtml('<img data-remote-src="javascript:alert(1)" data-cid="x">');
    expect(result).toEqual({ html: '<img />', blockedRemoteImages: 0 });
  });

  it('does not let markup break out of text or attributes', () => {
    const out = clean('<p title="&quot;><script>alert(1)</script>">x</p><p>&lt;script&gt;alert(1)&lt;/script&gt;</p>');
    expect(out).not.toMatch(/<script/i);
    expect(out).toContain('&lt;script&gt;');
  });

  it('handles the hostile fixture from the corpus', async () => {
    const raw = readFileSync(path.join(__dirname, '../../../../test/fixtures/mail/19-html-hostile.eml'));
    const parsed = await parseMessage(raw);
    expect(parsed.html).toBeTruthy();
    const result = sanitizeEmailHtml(parsed.html ?? '');
    expectInert(result.html);
    expect(result.blockedRemoteImages).toBe(1);
    expect(result.html).toContain('data-remote-src="https://tracker.example.net/open.gif?id=dana-0001"');
    expect(result.html).toContain('<a href="https://acme-robotics.com/billing" target="_blank" rel="noopener noreferrer">Legit link</a>');
    expect(result.html).toContain('<p>Dear customer,</p>');
    expect(result.html).not.toMatch(/phish\.example|cdn\.example|document\.cookie/);
  });

  it('copes with empty and broken markup', () => {
    expect(sanitizeEmailHtml('')).toEqual({ html: '', blockedRemoteImages: 0 });
    expect(clean('<p><b>unclosed <i>tags')).toBe('<p><b>unclosed <i>tags</i></b></p>');
    expect(clean('<<>><img src="https://t.example/x.gif"')).not.toContain('src="https');
  });
});
