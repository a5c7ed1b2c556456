/**
 * ECDSA over a digest the caller already computed (KMS `MessageType: DIGEST`). node:crypto always
 * hashes what it signs, so signing a given digest needs the curve arithmetic itself: this file, for
 * the NIST curves KMS offers. Signatures are DER, as KMS returns them, and verify with node:crypto
 * (`verify('sha256', message, publicKey, signature)` for a digest that is sha256(message)).
 * Local cloud only: not constant-time, and it need not be.
 */
import { type KeyObject, randomBytes } from 'node:crypto';

interface Curve {
  p: bigint;
  n: bigint;
  g: { x: bigint; y: bigint };
  bytes: number;
}
/** Affine; null is the point at infinity. */
type Point = { x: bigint; y: bigint } | null;

const CURVES: Readonly<Record<string, Curve>> = {
  'P-256': {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    g: {
      x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
      y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
    },
    bytes: 32,
  },
  'P-384': {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    g: {
      x: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
      y: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
    },
    bytes: 48,
  },
};

const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, t0, t1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return mod(t0, m);
}

/** Jacobian coordinates (x = X/Z², y = Y/Z³): no inversion per step, one at the end. */
type Jacobian = { X: bigint; Y: bigint; Z: bigint };
const INFINITY: Jacobian = { X: 1n, Y: 1n, Z: 0n };

function double(c: Curve, { X, Y, Z }: Jacobian): Jacobian {
  if (Z === 0n || Y === 0n) return INFINITY;
  const delta = mod(Z * Z, c.p);
  const gamma = mod(Y * Y, c.p);
  const beta = mod(X * gamma, c.p);
  const alpha = mod(3n * (X - delta) * (X + delta), c.p); // a = -3 on every NIST curve
  const X3 = mod(alpha * alpha - 8n * beta, c.p);
  const Z3 = mod((Y + Z) * (Y + Z) - gamma - delta, c.p);
  return { X: X3, Y: mod(alpha * (4n * beta - X3) - 8n * gamma * gamma, c.p), Z: Z3 };
}

function add(c: Curve, P: Jacobian, Q: Jacobian): Jacobian {
  if (P.Z === 0n) return Q;
  if (Q.Z === 0n) return P;
  const z1z1 = mod(P.Z * P.Z, c.p);
  const z2z2 = mod(Q.Z * Q.Z, c.p);
  const u1 = mod(P.X * z2z2, c.p);
  const u2 = mod(Q.X * z1z1, c.p);
  const s1 = mod(P.Y * Q.Z * z2z2, c.p);
  const s2 = mod(Q.Y * P.Z * z1z1, c.p);
  const h = mod(u2 - u1, c.p);
  const r = mod(2n * (s2 - s1), c.p);
  if (h === 0n) return r === 0n ? double(c, P) : INFINITY;
  const i = mod(4n * h * h, c.p);
  const j = mod(h * i, c.p);
  const v = mod(u1 * i, c.p);
  const X3 = mod(r * r - j - 2n * v, c.p);
  return {
    X: X3,
    Y: mod(r * (v - X3) - 2n * s1 * j, c.p),
    Z: mod(((P.Z + Q.Z) * (P.Z + Q.Z) - z1z1 - z2z2) * h, c.p),
  };
}

function multiply(c: Curve, k: bigint, P: NonNullable<Point>): Jacobian {
  let result = INFINITY;
  let addend: Jacobian = { X: P.x, Y: P.y, Z: 1n };
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) result = add(c, result, addend);
    addend = double(c, addend);
  }
  return result;
}

function affine(c: Curve, { X, Y, Z }: Jacobian): Point {
  if (Z === 0n) return null;
  const zInverse = inverse(Z, c.p);
  const zz = mod(zInverse * zInverse, c.p);
  return { x: mod(X * zz, c.p), y: mod(Y * zz * zInverse, c.p) };
}

const toBigInt = (bytes: Buffer): bigint => (bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`));
const fromBase64Url = (text: string | undefined): bigint => toBigInt(Buffer.from(text ?? '', 'base64url'));

/** The digest as a number, its leftmost bits kept when it is longer than the order (SEC 1, 4.1.3). */
function digestNumber(c: Curve, digest: Buffer): bigint {
  const z = toBigInt(digest);
  const excess = digest.length * 8 - c.n.toString(2).length;
  return excess > 0 ? z >> BigInt(excess) : z;
}

export function curveOf(key: KeyObject): Curve {
  const name = key.asymmetricKeyDetails?.namedCurve ?? '';
  const curve = CURVES[{ prime256v1: 'P-256', secp384r1: 'P-384' }[name] ?? name];
  if (!curve) throw new Error(`No local ECDSA for curve ${name}`);
  return curve;
}

export function signDigest(privateKey: KeyObject, digest: Buffer): Buffer {
  const c = curveOf(privateKey);
  const d = fromBase64Url(privateKey.export({ format: 'jwk' }).d);
  const z = digestNumber(c, digest);
  for (;;) {
    const k = mod(toBigInt(randomBytes(c.bytes + 8)), c.n - 1n) + 1n;
    const R = affine(c, multiply(c, k, c.g)) as { x: bigint };
    const r = mod(R.x, c.n);
    const s = mod(inverse(k, c.n) * (z + r * d), c.n);
    if (r !== 0n && s !== 0n) return derSignature(r, s);
  }
}

export function verifyDigest(publicKey: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const c = curveOf(publicKey);
  const jwk = publicKey.export({ format: 'jwk' });
  const Q = { x: fromBase64Url(jwk.x), y: fromBase64Url(jwk.y) };
  const parsed = parseDerSignature(signature);
  if (!parsed) return false;
  const { r, s } = parsed;
  if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false;
  const w = inverse(s, c.n);
  const X = affine(c, add(c, multiply(c, mod(digestNumber(c, digest) * w, c.n), c.g), multiply(c, mod(r * w, c.n), Q)));
  return X !== null && mod(X.x, c.n) === r;
}

/** SEQUENCE { INTEGER r, INTEGER s }. */
function derSignature(r: bigint, s: bigint): Buffer {
  const integer = (v: bigint) => {
    const hex = v.toString(16);
    let bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
    if ((bytes[0] as number) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
  };
  const body = Buffer.concat([integer(r), integer(s)]);
  const length = body.length < 0x80 ? Buffer.from([body.length]) : Buffer.from([0x81, body.length]);
  return Buffer.concat([Buffer.from([0x30]), length, body]);
}

function parseDerSignature(der: Buffer): { r: bigint; s: bigint } | undefined {
  let at = 0;
  const byte = () => der[at++] ?? -1;
  const length = () => {
    const first = byte();
    return first === 0x81 ? byte() : first;
  };
  if (byte() !== 0x30 || length() !== der.length - at) return undefined;
  const integer = () => {
    if (byte() !== 0x02) return undefined;
    const size = length();
    const value = der.subarray(at, at + size);
    at += size;
    return size > 0 && value.length === size ? toBigInt(value) : undefined;
  };
  const r = integer();
  const s = integer();
  return r === undefined || s === undefined || at !== der.length ? undefined : { r, s };
}
