/**
 * uuencoded files inside a plain text body (`begin 644 name` … `end`), as mail clients of the 1990s and some
 * gateways still send them (Outlook's "plain text, uuencode" option, Unix `uuencode | mail`): each complete block
 * becomes a file and leaves the text. The npm `uuencode` package has no licence, no release since 2015 and no
 * `begin`/`end` framing, so this small decoder is written here; it is tested in uuencode.test.ts.
 *
 * Format (POSIX.1-2017 `uuencode`, "uuencode Format"): a `begin <octal mode> <name>` line; data lines whose first
 * character encodes the line's byte count (`(c - 0x20) & 0x3f`, so a backtick is 0) followed by groups of four
 * characters, each carrying six bits the same way; a zero-length line (a backtick or a space); an `end` line.
 * Tolerated, as uudecode tolerates them: trailing spaces stripped by a mailer (read as zero bits), a missing
 * zero-length line before `end`, an extra check character at the end of a data line. A block that is not
 * terminated by `end`, or holds a character outside the uuencode alphabet, is left in the text as it is: text that
 * merely looks like uuencode is never taken away.
 */

export interface UuFile {
  /** The name on the `begin` line, without any directory part. */
  filename: string;
  /** The octal mode on the `begin` line (informational only). */
  mode: string;
  bytes: Buffer;
}

const BEGIN = /^begin ([0-7]{3,4}) +(\S.*?)\s*$/;
/** A cheap pre-check: most texts have no `begin NNN ` line at all. */
const MAYBE = /^begin [0-7]{3,4} /m;
const MAX_FILES = 100;

/** The files uuencoded in `text`, and the text without them. `files` is empty (and `text` unchanged) when none. */
export function extractUuencoded(text: string): { text: string; files: UuFile[] } {
  if (!MAYBE.test(text)) return { text, files: [] };
  const lines = text.split('\n');
  const kept: string[] = [];
  const files: UuFile[] = [];
  for (let i = 0; i < lines.length; i++) {
    const begin = files.length < MAX_FILES ? BEGIN.exec(stripCr(lines[i])) : null;
    const block = begin ? readBlock(lines, i + 1) : null;
    if (!begin || !block) {
      kept.push(lines[i]);
      continue;
    }
    files.push({ filename: baseName(begin[2]), mode: begin[1], bytes: block.bytes });
    i = block.endLine;
    // Where the block stood between two blank lines, one of them goes.
    if (isBlank(kept[kept.length - 1]) && isBlank(lines[i + 1])) i++;
  }
  if (files.length === 0) return { text, files };
  return { text: kept.join('\n'), files };
}

/** Data lines from `start` up to an `end` line: the bytes and the index of the `end` line, or null if not a block. */
function readBlock(lines: string[], start: number): { bytes: Buffer; endLine: number } | null {
  const chunks: Buffer[] = [];
  let finished = false;
  for (let i = start; i < lines.length; i++) {
    const line = stripCr(lines[i]).replace(/[ \t]+$/, '');
    if (line === 'end') return { bytes: Buffer.concat(chunks), endLine: i };
    if (finished) return null; // after the zero-length line only `end` may follow
    if (line === '' || line === '`') {
      finished = true;
      continue;
    }
    const bytes = decodeLine(line);
    if (bytes === null) return null;
    if (bytes.length === 0) finished = true;
    else chunks.push(bytes);
  }
  return null;
}

const value = (code: number): number => (code - 0x20) & 0x3f;

/** One data line → its bytes, or null when a character is outside the alphabet or the line is too long. */
function decodeLine(line: string): Buffer | null {
  for (let k = 0; k < line.length; k++) {
    const c = line.charCodeAt(k);
    if (c < 0x20 || c > 0x60) return null;
  }
  const count = value(line.charCodeAt(0));
  const groups = Math.ceil(count / 3);
  // A line carries at most 4 characters per 3 bytes plus one optional check character.
  if (line.length - 1 > groups * 4 + 1) return null;
  const out = Buffer.alloc(groups * 3);
  // Characters a mailer stripped as trailing spaces read as zero bits (a space is zero).
  const at = (k: number): number => (k < line.length ? value(line.charCodeAt(k)) : 0);
  for (let g = 0; g < groups; g++) {
    const p = 1 + g * 4;
    const a = at(p),
      b = at(p + 1),
      c = at(p + 2),
      d = at(p + 3);
    out[g * 3] = (a << 2) | (b >> 4);
    out[g * 3 + 1] = ((b & 0x0f) << 4) | (c >> 2);
    out[g * 3 + 2] = ((c & 0x03) << 6) | d;
  }
  return out.subarray(0, count);
}

const stripCr = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line);

/** `begin 644 C:\TEMP\plan.pdf` or `../../etc/x`: only the last path component is a file name. */
function baseName(name: string): string {
  const base = name
    .split(/[\\/]/)
    .filter((p) => p !== '' && p !== '.' && p !== '..')
    .pop();
  return (base ?? '').slice(0, 255) || 'attachment';
}

const isBlank = (line: string | undefined): boolean => line !== undefined && line.trim() === '';
