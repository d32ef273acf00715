import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its key, as PEM files. */
export interface CertFiles {
  certFile: string;
  keyFile: string;
}

/** Files the test cluster is built from; all signed by one throwaway CA. */
export interface Pki {
  caFile: string;
  caKeyFile: string;
  /** kube-apiserver's serving certificate (IP:127.0.0.1, DNS:localhost). */
  apiserver: CertFiles;
  /** Client certificates: CN is the Kubernetes user name, O the groups. */
  admin: CertFiles;
  alice: CertFiles;
  bob: CertFiles;
  /** RSA key pair that signs (private) and verifies (public) service-account tokens. */
  serviceAccountKeyFile: string;
  serviceAccountPublicKeyFile: string;
}

/** The Kubernetes identities of the client certificates. */
export const CLIENT_SUBJECTS = {
  admin: '/O=system:masters/CN=lookout-test-admin',
  alice: '/CN=slack:alice',
  bob: '/O=slack:sre/CN=slack:bob',
} as const;

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Makes the test PKI with the openssl CLI (EC P-256 certificates, valid for 2 days). */
export async function makePki(dir: string): Promise<Pki> {
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  await openssl(['req', '-x509', ...EC_KEY, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2', '-subj', '/CN=lookout-test-ca']);

  const leaf = async (name: string, subject: string, extensions: string[]): Promise<CertFiles> => {
    const extFile = file(`${name}.ext`);
    writeFileSync(extFile, `${extensions.join('\n')}\n`);
    await openssl(['req', ...EC_KEY, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject]);
    await openssl([
      'x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'),
      '-set_serial', serial(), '-out', file(`${name}.crt`), '-days', '2', '-extfile', extFile,
    ]);
    return { certFile: file(`${name}.crt`), keyFile: file(`${name}.key`) };
  };
  const client = ['extendedKeyUsage=clientAuth', 'keyUsage=digitalSignature'];

  const [apiserver, admin, alice, bob] = await Promise.all([
    leaf('apiserver', '/CN=kube-apiserver', ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'extendedKeyUsage=serverAuth', 'keyUsage=digitalSignature']),
    leaf('admin', CLIENT_SUBJECTS.admin, client),
    leaf('alice', CLIENT_SUBJECTS.alice, client),
    leaf('bob', CLIENT_SUBJECTS.bob, client),
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file('sa.key')]).then(() =>
      openssl(['pkey', '-in', file('sa.key'), '-pubout', '-out', file('sa.pub')]),
    ),
  ]);
  return {
    caFile: file('ca.crt'),
    caKeyFile: file('ca.key'),
    apiserver,
    admin,
    alice,
    bob,
    serviceAccountKeyFile: file('sa.key'),
    serviceAccountPublicKeyFile: file('sa.pub'),
  };
}

/** A random positive serial: leaves are signed in parallel, so openssl's serial file would race. */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return `0x${bytes.toString('hex')}`;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause: error });
  }
}
