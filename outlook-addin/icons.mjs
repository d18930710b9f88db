/**
 * The add-in's icons, drawn at build time (a brand-blue rounded square with a white "T" and a thread line), so
 * the repository carries no binaries and every size Outlook asks for is crisp: 16/32/80 for the ribbon,
 * 25/32/48 for mobile, 64/128 for the store listing.
 */
import { deflateSync } from 'node:zlib';

export const ICON_SIZES = [16, 25, 32, 48, 64, 80, 128];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** Coverage (0..1) of pixel (x, y) by the icon's shapes, supersampled 4×4 for smooth edges. */
function coverage(size, x, y, inside) {
  let hits = 0;
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) if (inside((x + (i + 0.5) / 4) / size, (y + (j + 0.5) / 4) / size)) hits++;
  return hits / 16;
}

function inRoundedSquare(u, v) {
  const r = 0.2;
  const dx = Math.max(r - u, 0, u - (1 - r));
  const dy = Math.max(r - v, 0, v - (1 - r));
  return dx * dx + dy * dy <= r * r;
}
function inGlyph(u, v) {
  const bar = u >= 0.24 && u <= 0.76 && v >= 0.24 && v <= 0.36;
  const stem = u >= 0.44 && u <= 0.56 && v >= 0.24 && v <= 0.78;
  const thread = v >= 0.7 && v <= 0.78 && u >= 0.56 && u <= 0.78;
  return bar || stem || thread;
}

/** The unified manifest's outline icon: the glyph in white on transparent, as Microsoft 365 requires it. */
export function outlinePng(size) {
  return png(size, (x, y) => {
    const glyph = coverage(size, x, y, (u, v) => inRoundedSquare(u, v) && inGlyph(u, v));
    return [255, 255, 255, Math.round(255 * glyph)];
  });
}

export function iconPng(size) {
  const [br, bg, bb] = [0x0f, 0x6c, 0xbd];
  return png(size, (x, y) => {
    const shape = coverage(size, x, y, inRoundedSquare);
    const glyph = coverage(size, x, y, (u, v) => inRoundedSquare(u, v) && inGlyph(u, v));
    const mix = (c) => Math.round(c + (255 - c) * (glyph / Math.max(shape, 1e-9)));
    return [mix(br), mix(bg), mix(bb), Math.round(255 * shape)];
  });
}

/** An RGBA PNG of `size` × `size`, one `pixel(x, y) → [r, g, b, a]` each. */
function png(size, pixel) {
  const rows = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4);
    for (let x = 0; x < size; x++) row.set(pixel(x, y), 1 + x * 4);
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
