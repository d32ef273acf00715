import { readFile } from 'node:fs/promises';
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestOptions } from 'node:https';

/**
 * Lookout's own identity towards the Kubernetes API server: where it is and how to authenticate
 * a request to it. KubeHttp depends on this port only, so the common credentials (kubeconfig
 * files, the in-cluster service account) never load @kubernetes/client-node.
 */
export interface KubeCredentials {
  /** The API server's base URL. */
  readonly server: URL;
  /** Adds TLS material and the Authorization header to a request about to be sent. */
  apply(options: RequestOptions): Promise<void>;
}

/** Bytes that may change while Lookout runs (a rotated token, a renewed certificate). */
export interface Material {
  current(): Promise<Buffer>;
}

/** Material written inline (a kubeconfig's `…-data` or `token` field): it never changes. */
export function fixedMaterial(bytes: Buffer): Material {
  const value = Promise.resolve(bytes);
  return { current: () => value };
}

export interface FileMaterialOptions {
  path: string;
  /** The file's content as read at start, so a missing file fails the start, not the first request. */
  initial: Buffer;
  now: () => number;
  /** How old a read may be before the next request reads the file again. */
  maxAgeMs?: number;
}

/**
 * A file read again once its last read is a minute old (client-go's cadence for token files):
 * bound service-account tokens rotate (the kubelet rewrites the file well before expiry), and
 * certificates get renewed on disk. One read serves every request made while it runs.
 */
export class FileMaterial implements Material {
  private readonly path: string;
  private readonly now: () => number;
  private readonly maxAgeMs: number;
  private value: Buffer;
  private readAt: number;
  private reading: Promise<Buffer> | undefined;

  constructor({ path, initial, now, maxAgeMs = 60_000 }: FileMaterialOptions) {
    this.path = path;
    this.now = now;
    this.maxAgeMs = maxAgeMs;
    this.value = initial;
    this.readAt = now();
  }

  current(): Promise<Buffer> {
    if (this.now() - this.readAt < this.maxAgeMs) return Promise.resolve(this.value);
    this.reading ??= readFile(this.path)
      .then((bytes) => {
        this.value = bytes;
        this.readAt = this.now();
        return bytes;
      })
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }
}

export interface TlsCredentialsOptions {
  server: URL;
  /** CA bundle that signs the API server's certificate; Node's default roots without one. */
  ca?: Material | undefined;
  /** Client certificate and key (both or neither). */
  cert?: Material | undefined;
  key?: Material | undefined;
  /** Bearer token; whitespace around it (a trailing newline in a token file) is dropped. */
  token?: Material | undefined;
  insecureSkipTlsVerify?: boolean | undefined;
  /** Name to verify the server's certificate against, when it differs from the URL's host. */
  tlsServerName?: string | undefined;
}

/** Credentials made of TLS material and an optional bearer token: kubeconfig files and in-cluster. */
export class TlsCredentials implements KubeCredentials {
  readonly server: URL;
  private readonly options: TlsCredentialsOptions;

  constructor(options: TlsCredentialsOptions) {
    this.server = options.server;
    this.options = options;
  }

  async apply(request: RequestOptions): Promise<void> {
    const { ca, cert, key, token, insecureSkipTlsVerify, tlsServerName } = this.options;
    if (ca) request.ca = await ca.current();
    if (cert) request.cert = await cert.current();
    if (key) request.key = await key.current();
    if (insecureSkipTlsVerify) request.rejectUnauthorized = false;
    if (tlsServerName) request.servername = tlsServerName;
    if (token) {
      const bearer = (await token.current()).toString('utf8').trim();
      if (bearer !== '') {
        const headers = (request.headers ??= {}) as OutgoingHttpHeaders;
        headers.authorization = `Bearer ${bearer}`;
      }
    }
  }
}

/**
 * Lookout's Kubernetes credentials cannot be used. The message names the file and the field,
 * never a value: a kubeconfig holds tokens and keys, and a YAML parser's message quotes them.
 */
export class KubeCredentialsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KubeCredentialsError';
  }
}
