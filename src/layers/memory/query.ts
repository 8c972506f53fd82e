/** Ordering, paging and patching shared by the memory stores, matching the SQL the PostgreSQL store runs. */
import { type Page, type PageRequest, toPage } from "../../services/store/common.js"

type Comparator<A> = (a: A, b: A) => number

const compare = <V extends string | number>(a: V, b: V): number => (a < b ? -1 : a > b ? 1 : 0)

/** Ids are time-sortable, so id order is creation order. */
export const oldestFirst: Comparator<{ readonly id: string }> = (a, b) => compare(a.id, b.id)
export const newestFirst: Comparator<{ readonly id: string }> = (a, b) => compare(b.id, a.id)

/** By a timestamp, ties broken by `tieBreak`: for rows without a time-sortable id, or ordered by another time. */
export const byTime =
  <A>(time: (row: A) => Date, tieBreak: (row: A) => string, direction: "asc" | "desc" = "asc"): Comparator<A> =>
  (a, b) => {
    const order = compare(time(a).getTime(), time(b).getTime()) || compare(tieBreak(a), tieBreak(b))
    return direction === "asc" ? order : -order
  }

export const sorted = <A>(rows: ReadonlyArray<A>, order: Comparator<A>): Array<A> => [...rows].sort(order)

/** `WHERE id < cursor ORDER BY id DESC LIMIT limit + 1`, then `toPage`. */
export const paged = <A extends { readonly id: string }>(rows: ReadonlyArray<A>, request: PageRequest): Page<A> => {
  const { cursor, limit } = request
  const candidates = cursor === undefined ? rows : rows.filter((row) => row.id < cursor)
  return toPage(sorted(candidates, newestFirst).slice(0, limit + 1), limit)
}

/**
 * A patch applier listing every patchable column (the record's type makes the list complete): it keeps the columns
 * the caller set, and nothing else, as the SQL stores' explicit column lists do.
 */
export const patchOf =
  <P extends object>(columns: { readonly [K in keyof Required<P>]: true }) =>
  (patch: P): Partial<P> => {
    const changes: Partial<Record<keyof P, unknown>> = {}
    for (const column of Object.keys(columns) as Array<keyof P>) {
      if (patch[column] !== undefined) changes[column] = patch[column]
    }
    return changes as Partial<P>
  }

/** For an upsert's conflict: every column of `row` but `kept`, which stay as the existing row has them. */
export const replacingAllBut =
  <Row, C extends keyof Row>(row: Row, ...kept: ReadonlyArray<C>) =>
  (existing: Row): Partial<Row> => {
    const next = { ...row }
    for (const column of kept) next[column] = existing[column]
    return next
  }
