import { rmSync, statSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import type { GroupState } from '../../alerts/group-state.ts';
import { SqliteStore } from '../../src/state/sqlite-store.ts';

/*
 * What PRAGMA quick_check costs on a big state file (docs/architecture.md, "State"): builds a
 * store of N resolved groups of 10 alerts each, with one thread reply, then times quick_check,
 * quick_check(1) and integrity_check three times each. Not part of `npm run bench` (it writes a
 * few hundred MB); run it by hand:
 *
 *   node test/bench/measure-quick-check.ts /tmp/quick-check.db 50000
 */

const path = process.argv[2] ?? '/tmp/lookout-quick-check.db';
const groups = Number(process.argv[3] ?? 50_000);

function state(g: number): GroupState {
  const alerts = Array.from({ length: 10 }, (_, a) => ({
    fingerprint: `${g}-${a}`,
    status: 'resolved' as const,
    labels: { alertname: 'KubePodNotReady', namespace: `team-${g % 17}`, pod: `svc-${g}-7d9f8b6c5-${a}`, severity: 'warning', container: 'app', instance: `10.0.${a}.1:8080` },
    annotations: {
      summary: `Pod team/svc-${g}-${a} has been in a non-ready state for longer than 15 minutes.`,
      description: 'Pod has been in a non-ready state for longer than 15 minutes on cluster prod-eu-1.',
      runbook_url: 'https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodnotready',
    },
    startsAt: '2026-01-01T00:00:00Z',
    endsAt: '2026-01-01T01:00:00Z',
    generatorURL: '',
  }));
  return { groupKey: `svc-${g}`, receiver: 'lookout', externalURL: '', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, alerts, truncatedAlerts: 0 };
}

for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
const store = new SqliteStore(path);
for (let start = 0; start < groups; start += 1000) {
  store.transaction(() => {
    for (let g = start; g < Math.min(groups, start + 1000); g++) {
      const id = store.addGroup(`{}:{service="svc-${g}"}`, `C${g % 50}`, state(g), Date.now());
      store.markMessageDelivered(id, `${g}.000100`, 1);
      store.addReply(id, 'All alerts resolved.', Date.now());
    }
  });
}
store.close();

const db = new DatabaseSync(path);
db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
console.log(`${groups} groups, file ${(statSync(path).size / 1e6).toFixed(1)} MB`);
for (const pragma of ['quick_check', 'quick_check(1)', 'integrity_check']) {
  const times: string[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    db.prepare(`PRAGMA ${pragma}`).all();
    times.push((performance.now() - started).toFixed(0));
  }
  console.log(`${pragma}: ${times.join(' / ')} ms`);
}
db.close();
for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
