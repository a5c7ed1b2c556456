/**
 * TLS material for the Kubernetes simulator: a private CA and a server certificate for 127.0.0.1 and
 * localhost. Kubernetes clients (client-node, kubectl) refuse plain HTTP, so the simulator serves HTTPS
 * and hands out the CA as kubeconfig `certificate-authority-data`. ECDSA P-256 through node's WebCrypto.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
// @peculiar/x509 (through tsyringe) needs the Reflect metadata API before it loads.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
/** The WebCrypto @peculiar/x509 signs with: node's own. */
const crypto = webcrypto as unknown as NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;
const algorithm = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const signingAlgorithm = { name: 'ECDSA', hash: 'SHA-256' } as const;
const dayMs = 86_400_000;

export interface ServerCredentials {
  /** PEM of the CA certificate (what clients trust). */
  caPem: string;
  /** PEM of the server certificate and its PKCS#8 private key. */
  certPem: string;
  keyPem: string;
}

interface CertificateAuthority {
  cert: x509.X509Certificate;
  privateKey: CryptoKey;
}

/** A CA (reused from `folder` when one is kept there and still valid) and a fresh server certificate. */
export async function serverCredentials(folder?: string): Promise<ServerCredentials> {
  const ca = folder ? await keptAuthority(folder) : await newAuthority();
  const keys = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialNumber(),
      subject: 'CN=slipway-simulator-apiserver',
      issuer: ca.cert.subject,
      notBefore: new Date(Date.now() - dayMs),
      notAfter: new Date(Date.now() + 365 * dayMs),
      signingAlgorithm,
      publicKey: keys.publicKey,
      signingKey: ca.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          { type: 'ip', value: '127.0.0.1' },
          { type: 'dns', value: 'localhost' },
        ]),
        await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false, crypto),
      ],
    },
    crypto,
  );
  return {
    caPem: ca.cert.toString('pem'),
    certPem: cert.toString('pem'),
    keyPem: await privateKeyPem(keys.privateKey),
  };
}

async function newAuthority(): Promise<CertificateAuthority> {
  const keys = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(),
      name: 'CN=slipway-simulator-ca',
      notBefore: new Date(Date.now() - dayMs),
      notAfter: new Date(Date.now() + 3650 * dayMs),
      signingAlgorithm,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { cert, privateKey: keys.privateKey };
}

/** The CA kept in `folder` (ca.crt, ca.key), created there on first use or when it has expired. */
async function keptAuthority(folder: string): Promise<CertificateAuthority> {
  const certPath = join(folder, 'ca.crt');
  const keyPath = join(folder, 'ca.key');
  const kept = await readAuthority(certPath, keyPath);
  if (kept && kept.cert.notAfter.getTime() > Date.now() + 30 * dayMs) return kept;
  const ca = await newAuthority();
  await mkdir(folder, { recursive: true });
  await writeFile(certPath, ca.cert.toString('pem'));
  await writeFile(keyPath, await privateKeyPem(ca.privateKey), { mode: 0o600 });
  return ca;
}

async function readAuthority(certPath: string, keyPath: string): Promise<CertificateAuthority | undefined> {
  try {
    const [certPem, keyPem] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    const der = x509.PemConverter.decodeFirst(keyPem);
    const privateKey = await crypto.subtle.importKey('pkcs8', der, algorithm, true, ['sign']);
    return { cert: new x509.X509Certificate(certPem), privateKey };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** A positive 16-byte serial (the top bit clear keeps the DER integer positive, as Go's TLS stack wants). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}
