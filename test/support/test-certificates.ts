import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate made for a test, as PEM, with the facts a test compares against. */
export interface TestCertificate {
  certPem: string;
  keyPem: string;
  /** Hex, upper case (as node:crypto and `openssl x509 -serial` print it). */
  serialNumber: string;
  notAfter: Date;
}

export interface CertificateRequest {
  /** Common name; also the subject. */
  commonName: string;
  /** `DNS:shop.example.com`, `IP:127.0.0.1`. */
  sans?: string[];
  notBefore: Date;
  notAfter: Date;
  /** An intermediate CA that can sign further certificates. */
  ca?: boolean;
}

/**
 * Real X.509 certificates with any validity window (expired ones included), made with the
 * openssl CLI's `ca` command, whose -startdate/-enddate set both ends (OpenSSL 3.0's `req` and
 * `x509` only count days from now). EC P-256 keys. One authority signs in turn: `openssl ca`
 * keeps a serial file and an index, which parallel calls would race on.
 */
export class TestAuthority {
  readonly certificate: TestCertificate;
  private readonly dir: string;
  private readonly keyFile: string;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, keyFile: string, certificate: TestCertificate) {
    this.dir = dir;
    this.keyFile = keyFile;
    this.certificate = certificate;
  }

  /** A self-signed root valid from `notBefore` to `notAfter` (default: a day ago to a year ahead). */
  static async root(commonName: string, validity: { notBefore?: Date; notAfter?: Date } = {}): Promise<TestAuthority> {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-test-ca-'));
    prepare(dir);
    const key = join(dir, 'root.key');
    await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', join(dir, 'root.csr'), '-subj', `/CN=${commonName}`]);
    const notBefore = validity.notBefore ?? new Date(Date.now() - 86_400_000);
    const notAfter = validity.notAfter ?? new Date(Date.now() + 365 * 86_400_000);
    const certificate = await sign(dir, { csr: join(dir, 'root.csr'), keyFile: key, selfSign: true, request: { commonName, notBefore, notAfter, ca: true } });
    return new TestAuthority(dir, key, { ...certificate, keyPem: readFileSync(key, 'utf8') });
  }

  /** A certificate signed by this authority; `ca: true` makes an intermediate (see `intermediate`). */
  issue(request: CertificateRequest): Promise<TestCertificate> {
    const next = this.queue.then(async () => {
      const name = `leaf-${randomBytes(6).toString('hex')}`;
      const key = join(this.dir, `${name}.key`);
      await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', join(this.dir, `${name}.csr`), '-subj', `/CN=${request.commonName}`]);
      const certificate = await sign(this.dir, { csr: join(this.dir, `${name}.csr`), keyFile: this.keyFile, issuerCert: this.certificate.certPem, request });
      return { ...certificate, keyPem: readFileSync(key, 'utf8') };
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** An intermediate authority signed by this one, for chains. */
  async intermediate(commonName: string, validity: { notBefore: Date; notAfter: Date }): Promise<TestAuthority> {
    const issued = await this.issue({ commonName, ca: true, ...validity });
    const dir = mkdtempSync(join(tmpdir(), 'lookout-test-ca-'));
    prepare(dir);
    const key = join(dir, 'root.key');
    writeFileSync(key, issued.keyPem);
    return new TestAuthority(dir, key, issued);
  }

  /** Removes the authority's files (keys included). */
  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function prepare(dir: string): void {
  mkdirSync(join(dir, 'issued'), { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `database = ${join(dir, 'index.txt')}`,
      `serial = ${join(dir, 'serial')}`,
      `new_certs_dir = ${join(dir, 'issued')}`,
      'default_md = sha256',
      'policy = any_name',
      'unique_subject = no',
      'email_in_dn = no',
      '[any_name]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
}

async function sign(dir: string, { csr, keyFile, issuerCert, selfSign = false, request }: { csr: string; keyFile: string; issuerCert?: string; selfSign?: boolean; request: CertificateRequest }): Promise<Omit<TestCertificate, 'keyPem'>> {
  // A random serial each time (written where `openssl ca` reads the next one).
  const serial = randomBytes(12);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x10;
  writeFileSync(join(dir, 'serial'), `${serial.toString('hex').toUpperCase()}\n`);
  const extFile = join(dir, 'ext.cnf');
  const extensions = request.ca
    ? ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash']
    : ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = serverAuth', 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid'];
  if (request.sans?.length) extensions.push(`subjectAltName = ${request.sans.join(', ')}`);
  writeFileSync(extFile, `[ext]\n${extensions.join('\n')}\n`);
  const out = join(dir, 'out.crt');
  const issuer = join(dir, 'issuer.crt');
  if (issuerCert !== undefined) writeFileSync(issuer, issuerCert);
  await openssl([
    'ca', '-batch', '-notext', '-config', join(dir, 'ca.cnf'), '-in', csr, '-out', out, '-keyfile', keyFile,
    ...(selfSign ? ['-selfsign'] : ['-cert', issuer]),
    '-startdate', stamp(request.notBefore), '-enddate', stamp(request.notAfter),
    '-extfile', extFile, '-extensions', 'ext',
  ]);
  const certPem = readFileSync(out, 'utf8');
  const parsed = await openssl(['x509', '-in', out, '-noout', '-serial']);
  return { certPem, serialNumber: parsed.replace(/^serial=/, '').trim().toUpperCase(), notAfter: new Date(Math.floor(request.notAfter.getTime() / 1000) * 1000) };
}

/** YYYYMMDDHHMMSSZ, as `openssl ca -startdate/-enddate` takes it. */
function stamp(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

async function openssl(args: string[]): Promise<string> {
  try {
    return (await run('openssl', args)).stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause: error });
  }
}
