/**
 * Shared shapes of the store interfaces.
 *
 * Rules every store implementation follows (the conformance suite checks them):
 * - stores never read the clock: every time comes in as an argument (`now`), so services and tests control it;
 * - infrastructure failures are defects (`StoreUnavailable` when the database is unreachable), never typed errors;
 * - list methods page by cursor: `id < cursor ORDER BY id DESC LIMIT n+1`; `nextCursor` is the last id returned
 *   when more rows exist.
 */
export interface PageRequest {
  readonly cursor?: string | undefined
  readonly limit: number
}

export interface Page<A> {
  readonly items: ReadonlyArray<A>
  readonly nextCursor: string | undefined
}

/** Keeps the first `limit` of `limit + 1` fetched rows and derives the cursor, for every implementation. */
export const toPage = <A extends { readonly id: string }>(rows: ReadonlyArray<A>, limit: number): Page<A> =>
  rows.length > limit
    ? { items: rows.slice(0, limit), nextCursor: rows[limit - 1]!.id }
    : { items: rows, nextCursor: undefined }
