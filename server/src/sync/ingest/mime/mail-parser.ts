/**
 * mailparser's MailParser with the two decodings it gets wrong for legacy mail done by charsets.ts instead: header
 * lines are rewritten from their original bytes before mailparser reads them (headers.ts), and every text part's
 * bytes go through decodeBodyBytes (declared charset → chardet → Windows-1252, UTF-7 included) rather than through
 * mailparser's decoder, which reads undeclared or invalid bytes as UTF-8 (U+FFFD) and refuses UTF-7.
 *
 * mailparser keeps the MIME tree, transfer decoding, RFC 2231 parameters, address parsing and attachment streaming;
 * only three of its internal methods are wrapped (createNode, processHeaders and the `decoder` it builds in its
 * constructor). They are not in its typings, so test/fixtures/fidelity.test.ts pins the result on real messages: a
 * mailparser upgrade that renames them fails there, not silently in production.
 *
 * A text/plain part's decoded text also loses its uuencoded blocks here (uuencode.ts): they become `uuFiles`, which
 * parse.ts lists as attachments after the MIME ones.
 *
 * Refusing UTF-7 is mailparser's guard against `+ADw-script+AD4-` slipping markup past a filter; here the decoded
 * HTML always goes through sanitizeEmailHtml before it is stored or shown, so decoding it is safe.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { MailParser, type MailParserOptions } from 'mailparser';
import { decodeBodyBytes } from './charsets';
import { fixHeaderLine } from './headers';
import { extractUuencoded, type UuFile } from './uuencode';
import type { DecodingNote } from '../../../mail/message';

interface SplitterNode {
  root: boolean;
  charset: string | false;
  contentType: string | false;
}
interface HeaderLine {
  key: string;
  line: string;
}
interface Internals {
  createNode(this: MailParser, node: SplitterNode): unknown;
  processHeaders(this: MailParser, lines: HeaderLine[]): unknown;
}
const base = MailParser.prototype as unknown as Internals;

/**
 * mailparser only calls its decoder for a charset other than UTF-8/ASCII/none; this prefix on every text part's
 * charset sends them all through ours, carrying the content type and the declared label along.
 */
const ROUTED = 'x-threadline;';

export class FidelityMailParser extends MailParser {
  readonly decodingNotes: DecodingNote[] = [];
  /** Files uuencoded in the text/plain parts, in the order they appear. */
  readonly uuFiles: UuFile[] = [];
  #rootCharset: string | null = null;
  #headerCharset: string | null = null;

  constructor(options: MailParserOptions) {
    super(options);
    (this as unknown as { decoder: { decodeStream(label: string): Transform } }).decoder = {
      decodeStream: (label: string) => this.#decodeStream(label),
    };
  }

  createNode(node: SplitterNode): unknown {
    const declared = typeof node.charset === 'string' && node.charset !== '' ? node.charset : null;
    if (node.root) this.#rootCharset = declared;
    this.#headerCharset = declared ?? this.#rootCharset;
    if (typeof node.contentType === 'string' && node.contentType.startsWith('text/')) {
      node.charset = `${ROUTED}${node.contentType};${declared ?? ''}`;
    }
    return base.createNode.call(this, node);
  }

  processHeaders(lines: HeaderLine[]): unknown {
    const fixed = lines.map((l) => {
      const fix = fixHeaderLine(l.line, this.#headerCharset);
      if (fix.assumed) this.decodingNotes.push({ where: `header:${l.key}`, declared: this.#headerCharset, ...fix.assumed });
      return fix.line === l.line ? l : { key: l.key, line: fix.line };
    });
    return base.processHeaders.call(this, fixed);
  }

  #decodeStream(label: string): Transform {
    const [contentType, declaredLabel] = label.startsWith(ROUTED) ? label.slice(ROUTED.length).split(';') : ['text/plain', label];
    const declared = declaredLabel || null;
    const chunks: Buffer[] = [];
    const notes = this.decodingNotes;
    const uuFiles = this.uuFiles;
    return new Transform({
      transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
        chunks.push(chunk);
        done();
      },
      flush(done: TransformCallback) {
        const decoded = decodeBodyBytes(Buffer.concat(chunks), declared);
        if (decoded.source !== 'declared') notes.push({ where: `body:${contentType}`, declared, charset: decoded.charset, source: decoded.source });
        let text = decoded.text;
        if (contentType === 'text/plain') {
          const uu = extractUuencoded(text);
          text = uu.text;
          uuFiles.push(...uu.files);
        }
        done(null, Buffer.from(text, 'utf8'));
      },
    });
  }
}
