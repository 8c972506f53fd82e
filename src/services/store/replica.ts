/**
 * The read replica's state, for `/health`: provided by the PostgreSQL layers when a replica is configured
 * (`Pg.replicaLayer`), absent otherwise. Which reads go to it is the store's business (`Sql.replicaReads`).
 */
import { Context, type Effect } from "effect"

export type ReplicaState =
  /** Reachable, replaying, no further behind than allowed: lag-tolerant reads go to it. */
  | { readonly _tag: "Streaming"; readonly lagSeconds: number }
  /** Reachable but further behind than allowed (or not yet checked): reads go to the primary. */
  | { readonly _tag: "Behind"; readonly lagSeconds: number }
  /** Unreachable, failing, or no longer in recovery (promoted): reads go to the primary. */
  | { readonly _tag: "Unavailable"; readonly reason: string }

export class ReadReplica extends Context.Tag("authsome/ReadReplica")<
  ReadReplica,
  { readonly state: Effect.Effect<ReplicaState> }
>() {}

/** The replica's state in one phrase: `lagging 1.2 s`, `too far behind (12.0 s), reads on the primary`, ... */
export const describeReplica = (state: ReplicaState): string => {
  switch (state._tag) {
    case "Streaming":
      return `lagging ${state.lagSeconds.toFixed(1)} s`
    case "Behind":
      return `too far behind (${state.lagSeconds.toFixed(1)} s), reads on the primary`
    case "Unavailable":
      return `unavailable (${state.reason}), reads on the primary`
  }
}
