import type { LookoutReads } from '../../commands/command.ts';

/** A Kubernetes list response, as far as paging goes. */
interface ListPage<Item> {
  items?: Item[];
  metadata?: { continue?: string };
}

/**
 * A Kubernetes list read page by page (`limit` + `continue`), as Lookout. Each page is handed
 * out and dropped before the next is requested, so a caller that keeps only what it needs of
 * each page holds one page at a time, whatever the cluster holds.
 */
export async function* listPages<Item>(reads: LookoutReads, path: string, query: Record<string, string>, pageSize: number): AsyncGenerator<Item[]> {
  let token: string | undefined;
  do {
    const page = await reads.get<ListPage<Item>>(path, { ...query, limit: String(pageSize), ...(token ? { continue: token } : {}) });
    token = page.metadata?.continue || undefined;
    yield page.items ?? [];
  } while (token !== undefined);
}
