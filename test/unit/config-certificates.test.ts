import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

const ENV = { LOOKOUT_WEBHOOK_TOKEN: 'webhook-token-0123456789', LOOKOUT_CONFIG: 'lookout.yaml' };
const load = (file: string) => loadConfig(ENV, () => file);

describe('config: certificates', () => {
  it('defaults: no probe allowed, 5 s probe timeout, Renew followed 5 min every 2 s, 21 d warning window', () => {
    expect(load('{}').commands.certificates).toEqual({ warnWithinMs: 21 * 86_400_000, probe: { allow: [], timeoutMs: 5000 }, renew: { timeoutMs: 300_000, pollIntervalMs: 2000 } });
  });

  it('reads probe.allow globs and timeouts', () => {
    const config = load('certificates:\n  probe:\n    allow: ["*.example.com:443", "web.shop.svc:*", "10.0.0.1:8443"]\n    timeout: 2s\n  renew: { timeout: 1m, pollInterval: 500ms }\n');
    expect(config.commands.certificates.probe).toEqual({ allow: ['*.example.com:443', 'web.shop.svc:*', '10.0.0.1:8443'], timeoutMs: 2000 });
    expect(config.commands.certificates.renew).toEqual({ timeoutMs: 60_000, pollIntervalMs: 500 });
  });

  it('names every bad entry: a glob without a port, a URL, a timeout out of range, an unknown key', () => {
    let problems: readonly string[] = [];
    try {
      load('certificates:\n  probe:\n    allow: ["example.com", "https://x.example.com:443", "ok.example.com:443"]\n    timeout: 1m\n  colour: red\n');
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    expect(problems).toEqual([
      'lookout.yaml: certificates.probe.allow.0: must be host:port, with * as a wildcard (e.g. "*.example.com:443")',
      'lookout.yaml: certificates.probe.allow.1: must be host:port, with * as a wildcard (e.g. "*.example.com:443")',
      'lookout.yaml: certificates.probe.timeout: must be between 100ms and 30s',
      expect.stringMatching(/^lookout\.yaml: certificates: Unrecognized key: "colour"/),
    ]);
  });

  it('scan: defaults every hour, every namespace, 21 d window, no digest', () => {
    expect(load('{}').certificates.scan).toEqual({ intervalMs: 3_600_000, warnWithinMs: 21 * 86_400_000 });
  });

  it('scan: reads interval, namespaces, warnWithin and channel; warnWithin is /ops certs\' window too; 0s turns it off', () => {
    const config = load('certificates:\n  scan: { interval: 30m, namespaces: [shop, pay], warnWithin: 30d, channel: C0CERTS }\n');
    expect(config.certificates.scan).toEqual({ intervalMs: 1_800_000, namespaces: ['shop', 'pay'], warnWithinMs: 30 * 86_400_000, channel: 'C0CERTS' });
    expect(config.commands.certificates.warnWithinMs).toBe(30 * 86_400_000);
    expect(load('certificates: { scan: { interval: 0s } }').certificates.scan.intervalMs).toBe(0);
  });

  it('scan: names every bad value at once', () => {
    let problems: readonly string[] = [];
    try {
      load('certificates:\n  scan: { interval: 500ms, namespaces: [], warnWithin: 10m, channel: "#no such", every: 1h }\n');
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    expect(problems).toEqual([
      'lookout.yaml: certificates.scan.interval: must be 0s (off) or between 1s and 7d',
      'lookout.yaml: certificates.scan.namespaces: must name at least one namespace (leave it out to scan every namespace)',
      'lookout.yaml: certificates.scan.warnWithin: must be between 1h and 365d',
      'lookout.yaml: certificates.scan.channel: must be a Slack channel id such as C0123ABCD',
      expect.stringMatching(/^lookout\.yaml: certificates\.scan: Unrecognized key: "every"/),
    ]);
  });
});
