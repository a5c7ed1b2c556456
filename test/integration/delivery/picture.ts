/**
 * Checks on a picture the API draws: XML well-formedness (the rules an escaping mistake breaks) and
 * whether a PNG screenshot shows anything, by decoding its pixels with node:zlib.
 */
import { inflateSync } from 'node:zlib';

const NAME = '[A-Za-z_:][-A-Za-z0-9_.:]*';
const ATTRIBUTE = new RegExp(`\\s+${NAME}\\s*=\\s*("[^"<]*"|'[^'<]*')`, 'y');
/** Text and attribute values may hold `&` only as one of XML's entities or a character reference. */
const BAD_AMPERSAND = /&(?!(?:lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;

/** Well-formed XML: one root, tags nested and closed, attributes quoted and unique, no stray `<` or `&`. */
export function wellFormedXml(xml: string): boolean {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '').replace(/<!--[\s\S]*?-->/g, '');
  const open: string[] = [];
  let roots = 0;
  let i = 0;
  while (i < body.length) {
    const lt = body.indexOf('<', i);
    const text = body.slice(i, lt === -1 ? body.length : lt);
    if (BAD_AMPERSAND.test(text) || text.includes('>') || (open.length === 0 && text.trim())) return false;
    if (lt === -1) break;
    const close = new RegExp(`</(${NAME})\\s*>`, 'y');
    close.lastIndex = lt;
    const end = close.exec(body);
    if (end) {
      if (open.pop() !== end[1]) return false;
      i = close.lastIndex;
      continue;
    }
    const start = new RegExp(`<(${NAME})`, 'y');
    start.lastIndex = lt;
    const tag = start.exec(body);
    if (!tag) return false;
    const names = new Set<string>();
    let at = start.lastIndex;
    for (;;) {
      ATTRIBUTE.lastIndex = at;
      const attribute = ATTRIBUTE.exec(body);
      if (!attribute) break;
      const name = attribute[0].trim().split(/\s*=/)[0] as string;
      if (names.has(name) || BAD_AMPERSAND.test(attribute[1] as string)) return false;
      names.add(name);
      at = ATTRIBUTE.lastIndex;
    }
    const rest = /\s*(\/?)>/y;
    rest.lastIndex = at;
    const ending = rest.exec(body);
    if (!ending) return false;
    if (open.length === 0 && ++roots > 1) return false;
    if (!ending[1]) open.push(tag[1] as string);
    i = rest.lastIndex;
  }
  return roots === 1 && open.length === 0;
}

/** True when a PNG (8-bit RGB or RGBA, as Chromium writes them) is one colour, or nearly. */
export function pngIsBlank(png: Buffer): boolean {
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('ascii', offset + 4, offset + 8);
    const chunk = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = chunk.readUInt32BE(0);
      height = chunk.readUInt32BE(4);
      if (chunk[8] !== 8) throw new Error(`unexpected bit depth ${chunk[8]}`);
      channels = ({ 2: 3, 6: 4 } as Record<number, number>)[chunk[9] as number] ?? 0;
      if (!channels) throw new Error(`unexpected colour type ${chunk[9]}`);
    }
    if (type === 'IDAT') data.push(chunk);
    offset += 12 + length;
  }
  const pixels = unfilter(inflateSync(Buffer.concat(data)), width, height, channels);
  const counts = new Map<string, number>();
  for (let p = 0; p < pixels.length; p += channels) {
    const colour = pixels.subarray(p, p + 3).toString('hex');
    counts.set(colour, (counts.get(colour) ?? 0) + 1);
  }
  // Anything drawn: more than a handful of colours, and the commonest one short of 99 % of the picture.
  const commonest = Math.max(...counts.values());
  return counts.size < 4 || commonest > 0.99 * width * height;
}

/** PNG's per-row filters undone (RFC 2083, section 6). */
function unfilter(raw: Buffer, width: number, height: number, bpp: number): Buffer {
  const stride = width * bpp;
  const out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)] as number;
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x] as number;
      const a = x >= bpp ? (out[y * stride + x - bpp] as number) : 0;
      const b = y > 0 ? (out[(y - 1) * stride + x] as number) : 0;
      const c = x >= bpp && y > 0 ? (out[(y - 1) * stride + x - bpp] as number) : 0;
      const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter] as number;
      out[y * stride + x] = (value + predictor) & 0xff;
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}
