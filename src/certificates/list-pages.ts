import type { LookoutReads } from '../../commands/command.ts';

/** A Kubernetes list response, as far as paging goes. */
interface ListPage<Item> {
  items?: Item[];
  metadata?: { continue?: string };
}

/**
 * A Kubernetes list read page by page (`limit` + `continue`), as Lookout, each item reduced by
 * `keep` to what the caller needs. The raw page (for Secrets: every key) is released before the
 * reduced page is handed out, and the next page is requested only when the caller asks for it,
 * so at most one raw page and the caller's reductions are held, whatever the cluster holds.
 */
export async function* listPages<Item, Kept>(reads: LookoutReads, path: string, query: Record<string, string>, pageSize: number, keep: (item: Item) => Kept): AsyncGenerator<Kept[]> {
  let token: string | undefined;
  do {
    let page: ListPage<Item> | undefined = await reads.get<ListPage<Item>>(path, { ...query, limit: String(pageSize), ...(token ? { continue: token } : {}) });
    token = page.metadata?.continue || undefined;
    const kept = (page.items ?? []).map(keep);
    // Not kept alive by this suspended generator while the caller works on `kept`.
    page = undefined;
    yield kept;
  } while (token !== undefined);
}
