import { stat } from 'node:fs/promises';
import type { Store } from '../../state/store.ts';
import { failed, passed, type DoctorCheck } from '../doctor-check.ts';

export interface StoreCheckOptions {
  store: Pick<Store, 'ping' | 'storedRows'>;
  /** LOOKOUT_STATE, for the file's size on disk (with its write-ahead log). */
  statePath: string;
}

/** The state store: writable (its last health report), how much it holds, and its size on disk. */
export function storeCheck({ store, statePath }: StoreCheckOptions): DoctorCheck {
  return {
    name: 'State store',
    async run() {
      const problem = store.ping();
      if (problem !== undefined) return failed(`cannot write: ${problem}`, `Free space on the volume of LOOKOUT_STATE (${statePath}) or replace a damaged file (docs/operations.md); Lookout resumes on its own once it can write.`);
      const rows = await store.storedRows();
      const bytes = (await fileSize(statePath)) + (await fileSize(`${statePath}-wal`));
      return passed(`writable · ${rows.groups} alert groups, ${rows.notifications} notifications waiting · ${formatBytes(bytes)} on disk`);
    },
  };
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
