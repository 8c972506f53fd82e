/**
 * Atomicity and isolation for the memory store, with PostgreSQL's transaction semantics.
 *
 * One semaphore serialises every operation and transaction, so nothing ever observes another caller's partial
 * work. A transaction holds it until it ends and marks its fiber (a FiberRef, inherited by fibers it forks), so the
 * store calls and nested transactions inside it run without re-acquiring it. Rollback replays the database's undo
 * journal back to a savepoint: a failed operation, a failed transaction and a failed nested transaction (whose
 * failure the outer one may catch, like a PostgreSQL savepoint) each undo exactly their own writes.
 *
 * As in PostgreSQL, a constraint violation inside a transaction aborts it: until the enclosing nested transaction
 * fails (ROLLBACK TO SAVEPOINT), every further store call is a defect, and committing it rolls back instead. Code
 * that catches, say, `EmailTaken` inside a transaction and carries on therefore fails here as it would there.
 */
import { Effect, Exit, FiberRef, Option, type Scope } from "effect"
import type { StoreError } from "../../domain/errors.js"
import { Database, isConstraintViolation, type MemoryTable } from "./database.js"

export type StoreErrorTag = StoreError["_tag"]
export type StoreFailure<Tag extends StoreErrorTag> = Extract<StoreError, { readonly _tag: Tag }>

/** A sync store operation over the tables. It fails by throwing (see `Database`). */
export type Operation<A> = (db: Database) => A

export interface Engine {
  /**
   * Runs `operation` atomically and in isolation. Its writes are undone if it throws; a thrown store error whose tag
   * is listed in `failsWith` becomes a typed failure, anything else a defect (as an unmapped constraint violation is
   * on PostgreSQL). The result is deep-copied, so callers never hold (or mutate) stored rows.
   */
  readonly run: <A, const Tag extends StoreErrorTag = never>(
    operation: Operation<A>,
    ...failsWith: ReadonlyArray<Tag>
  ) => Effect.Effect<A, StoreFailure<Tag>>
  /** `run` for lookups: `undefined` becomes `None`. */
  readonly find: <A>(operation: Operation<A | undefined>) => Effect.Effect<Option.Option<A>>
  /** See `StoreShape.transaction`. */
  readonly transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Adds a plugin's table (idempotent); its stores then reach it through `run` like the core tables. */
  readonly register: (table: MemoryTable<any, any>) => void
}

/** PostgreSQL's answer (SQLSTATE 25P02) to a statement in an aborted transaction; a defect, as in the SQL store. */
export class TransactionAborted extends Error {
  override readonly name = "TransactionAborted"
  constructor() {
    super("current transaction is aborted, commands ignored until end of transaction block")
  }
}

/** The state of one outermost transaction, shared by its nested transactions and the fibers it forks. */
interface Transaction {
  /** Cleared when it ends, so fibers it forked that outlive it take the lock like everyone else. */
  open: boolean
  aborted: boolean
}

const isExpected = <Tag extends StoreErrorTag>(error: unknown, tags: ReadonlyArray<Tag>): error is StoreFailure<Tag> =>
  typeof error === "object" && error !== null && "_tag" in error && tags.includes(error._tag as Tag)

export const makeEngine: Effect.Effect<Engine, never, Scope.Scope> = Effect.gen(function* () {
  const db = new Database()
  const lock = yield* Effect.makeSemaphore(1)
  const currentTransaction = yield* FiberRef.make<Transaction | undefined>(undefined)
  const openTransaction = Effect.map(FiberRef.get(currentTransaction), (tx) => (tx?.open ? tx : undefined))

  const execute = <A, Tag extends StoreErrorTag>(
    operation: Operation<A>,
    failsWith: ReadonlyArray<Tag>,
    tx: Transaction | undefined,
  ): Effect.Effect<A, StoreFailure<Tag>> => {
    if (tx?.aborted) return Effect.die(new TransactionAborted())
    const savepoint = db.savepoint()
    try {
      const result = structuredClone(operation(db))
      if (tx === undefined) db.commit()
      return Effect.succeed(result)
    } catch (error) {
      db.rollbackTo(savepoint)
      if (tx !== undefined && isConstraintViolation(error)) tx.aborted = true
      return isExpected(error, failsWith) ? Effect.fail(error) : Effect.die(error)
    }
  }

  const run = <A, const Tag extends StoreErrorTag = never>(
    operation: Operation<A>,
    ...failsWith: ReadonlyArray<Tag>
  ): Effect.Effect<A, StoreFailure<Tag>> =>
    Effect.flatMap(openTransaction, (tx) => {
      const attempt = Effect.suspend(() => execute(operation, failsWith, tx))
      return tx === undefined ? lock.withPermits(1)(attempt) : attempt
    })

  /** BEGIN ... COMMIT, or ROLLBACK when `effect` fails (or the transaction was aborted). */
  const outermost = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    lock.withPermits(1)(
      Effect.suspend(() => {
        const tx: Transaction = { open: true, aborted: false }
        const savepoint = db.savepoint()
        return Effect.onExit(Effect.locally(effect, currentTransaction, tx), (exit) =>
          Effect.sync(() => {
            if (Exit.isFailure(exit) || tx.aborted) db.rollbackTo(savepoint)
            db.commit()
            tx.open = false
          }),
        )
      }),
    )

  /** SAVEPOINT: a failure of `effect` rolls back to it, which also ends an aborted state. */
  const nested = <A, E, R>(effect: Effect.Effect<A, E, R>, tx: Transaction) =>
    Effect.suspend(() => {
      if (tx.aborted) return Effect.die(new TransactionAborted())
      const savepoint = db.savepoint()
      return Effect.onExit(effect, (exit) =>
        Exit.isFailure(exit)
          ? Effect.sync(() => {
              db.rollbackTo(savepoint)
              tx.aborted = false
            })
          : Effect.void,
      )
    })

  const transaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(openTransaction, (tx) => (tx === undefined ? outermost(effect) : nested(effect, tx)))

  return {
    run,
    find: (operation) => Effect.map(run(operation), Option.fromNullable),
    transaction,
    register: (table) => db.register(table),
  }
})
