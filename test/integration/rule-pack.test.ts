import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/servers/binaries.ts';

/*
 * The rule pack (alerts/rules/<area>.yaml, each with <area>.test.yaml beside it) through the real
 * promtool from Debian's `prometheus` package: every rule file passes `promtool check rules`, every
 * test file passes `promtool test rules`, and a rule file without its tests is refused.
 */

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const RULES_DIR = join(REPO_ROOT, 'alerts/rules');
const run = promisify(execFile);

const files = readdirSync(RULES_DIR).filter((file) => file.endsWith('.yaml'));
const ruleFiles = files.filter((file) => !file.endsWith('.test.yaml'));
const testFiles = files.filter((file) => file.endsWith('.test.yaml'));

async function promtool(...args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd: RULES_DIR });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    return { ok: false, output: stdout + stderr };
  }
}

describe('rule pack (alerts/rules)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'lookout-rules-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('holds the certificate, workload and Lookout rules, each rule file with its tests beside it', () => {
    expect(ruleFiles).toEqual(expect.arrayContaining(['certificates.yaml', 'workloads.yaml', 'lookout.yaml']));
    for (const file of ruleFiles) expect(testFiles).toContain(file.replace(/\.yaml$/, '.test.yaml'));
  });

  it.each(ruleFiles)('promtool check rules %s', async (file) => {
    const { ok, output } = await promtool('check', 'rules', file);
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
    expect(ok).toBe(true);
  });

  it.each(testFiles)('promtool test rules %s', async (file) => {
    const { ok, output } = await promtool('test', 'rules', file);
    expect(output).toContain('SUCCESS');
    expect(ok).toBe(true);
  });

  // Each guard a rule has against a false alarm, taken out: the tests beside the rule must fail.
  it.each([
    ['workloads', 'finished pods are not "not ready"', 'unless on (namespace, pod)', 'or on (namespace, pod)'],
    ['workloads', 'a rollout in progress is no replicas mismatch', 'changes(kube_deployment_status_replicas_updated[10m])) == 0', 'changes(kube_deployment_status_replicas_updated[10m])) >= 0'],
    ['workloads', 'an old OOM kill without a new restart', 'increase(kube_pod_container_status_restarts_total[10m])) >= 1', 'increase(kube_pod_container_status_restarts_total[10m])) >= 0'],
    ['lookout', '429s are not failures', 'outcome!="rate_limited"', 'outcome!="none"'],
    ['lookout', 'a draining backlog is not growing', 'deriv(lookout_outbox_depth{job="lookout", kind="message"}[15m])) > 0', 'deriv(lookout_outbox_depth{job="lookout", kind="message"}[15m])) > -1000'],
  ])('the %s tests catch a broken rule: %s', async (area, _guard, from, to) => {
    const rules = readFileSync(join(RULES_DIR, `${area}.yaml`), 'utf8');
    expect(rules).toContain(from);
    writeFileSync(join(scratch, `${area}.yaml`), rules.replace(from, to));
    writeFileSync(join(scratch, `${area}.test.yaml`), readFileSync(join(RULES_DIR, `${area}.test.yaml`)));
    const { stdout, stderr } = await run(PROMTOOL, ['test', 'rules', `${area}.test.yaml`], { cwd: scratch }).catch((error: { stdout: string; stderr: string }) => error);
    expect(stdout + stderr).toContain('FAILED');
  });

  it('the tests catch a broken rule: cert-manager\'s never-issued 0 must not alert', async () => {
    // The same tests against a copy of the rules without the "> 0" guard fail.
    const broken = readFileSync(join(RULES_DIR, 'certificates.yaml'), 'utf8').replace('(certmanager_certificate_expiration_timestamp_seconds > 0)', 'certmanager_certificate_expiration_timestamp_seconds');
    expect(broken).not.toContain('> 0)');
    writeFileSync(join(scratch, 'certificates.yaml'), broken);
    writeFileSync(join(scratch, 'certificates.test.yaml'), readFileSync(join(RULES_DIR, 'certificates.test.yaml')));
    const { stdout, stderr } = await run(PROMTOOL, ['test', 'rules', 'certificates.test.yaml'], { cwd: scratch }).catch((error: { stdout: string; stderr: string }) => error);
    expect(stdout + stderr).toContain('FAILED');
    expect(stdout + stderr).toContain('name="pending"');
  });
});
