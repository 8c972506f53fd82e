/**
 * The conformance suite's plumbing: one `ManagedRuntime` per backend (built once, fresh state), tests written as
 * Effects over the store services, and small assertion helpers for typed errors and races.
 */
import { Cause, Context, Effect, Either, Exit, Layer, ManagedRuntime, Option } from "effect"
import { afterAll, beforeAll, expect, it } from "vitest"
import type { UserId } from "../domain/ids.js"
import type * as M from "../domain/models.js"
import type { StoreBackend } from "../layers/backend.js"
import type { AppliedMigration, MigrationGroup } from "../migrations/types.js"
import { Store, type StoreServices } from "../services/store/index.js"

/** What a soft-deleted user's row holds, read past the stores' soft-delete filter. */
export interface RawUserRow {
  readonly email: string
  readonly firstName: string | null
  readonly lastName: string | null
  readonly image: string | null
  readonly username: string | null
  readonly phone: string | null
  readonly metadata: unknown
  readonly deletedAt: Date | null
}

/**
 * Optional: a backend whose rows the suite can read directly (the SQL ones) provides this next to the stores, so the
 * soft-delete anonymisation is checked on the stored row; without it that one test is skipped.
 */
export class RawUserReader extends Context.Tag("test/RawUserReader")<
  RawUserReader,
  (id: UserId) => Effect.Effect<RawUserRow | undefined>
>() {}

export interface ConformanceTarget {
  /** Every store service and the backend tag (and optionally `RawUserReader`) over fresh, empty state. */
  readonly layer: Layer.Layer<StoreServices | StoreBackend, unknown>
  /** Runs after the runtime is disposed (dropping a database). */
  readonly cleanup?: () => Promise<void>
}

/**
 * A plugin's part of the suite: its stores (built on the target's backend), its migration group, its tests, and
 * the rows it keeps for a user, so the app-deletion test checks that they go with the app.
 */
export interface PluginConformance<R = any> {
  readonly name: string
  readonly migrations?: MigrationGroup
  readonly layer: Layer.Layer<R, never, StoreServices | StoreBackend>
  readonly suite: (h: Harness<R>) => void
  /** Seeds this plugin's rows for `user`; returns a check of which of them still exist. */
  readonly ownedRows?: (
    user: M.User,
  ) => Effect.Effect<Effect.Effect<Record<string, boolean>, never, R>, never, R | StoreServices>
}

export type StoreEffect<R = never> = Effect.Effect<unknown, unknown, StoreServices | R>

export interface Harness<R = never> {
  /** Runs an Effect on the backend; failures surface as the original error (assertion diffs stay readable). */
  readonly run: <A>(effect: Effect.Effect<A, unknown, StoreServices | R>) => Promise<A>
  /** Registers a test whose body is an Effect over the stores. */
  readonly test: (name: string, body: StoreEffect<R>, timeout?: number) => void
  /** What the suite's initial `Store.migrate(...)` reported applied. */
  readonly initialMigration: () => ReadonlyArray<AppliedMigration>
  /** The plugin groups the suite migrated with (the core group is implied). */
  readonly pluginGroups: ReadonlyArray<MigrationGroup>
  /** The plugin parts of this run. */
  readonly plugins: ReadonlyArray<PluginConformance>
}

/** Builds the backend in `beforeAll` (migrating it), disposes it in `afterAll`; call inside a `describe`. */
export const makeHarness = (
  makeTarget: () => ConformanceTarget | Promise<ConformanceTarget>,
  plugins: ReadonlyArray<PluginConformance> = [],
): Harness<any> => {
  let runtime: ManagedRuntime.ManagedRuntime<any, unknown> | undefined
  let cleanup: (() => Promise<void>) | undefined
  let applied: ReadonlyArray<AppliedMigration> = []
  const pluginGroups = plugins.flatMap((plugin) => (plugin.migrations ? [plugin.migrations] : []))

  const run = async <A>(effect: Effect.Effect<A, unknown, any>): Promise<A> => {
    if (!runtime) throw new Error("the store runtime is not built (beforeAll failed?)")
    const exit = await runtime.runPromiseExit(effect)
    if (Exit.isSuccess(exit)) return exit.value
    throw Cause.squash(exit.cause)
  }

  beforeAll(async () => {
    const target = await makeTarget()
    cleanup = target.cleanup
    let pluginStores: Layer.Layer<any, never, StoreServices | StoreBackend> = Layer.empty as Layer.Layer<any>
    for (const plugin of plugins) pluginStores = Layer.merge(pluginStores, plugin.layer)
    runtime = ManagedRuntime.make(Layer.provideMerge(pluginStores, target.layer) as Layer.Layer<any, unknown>)
    applied = await run(Effect.flatMap(Store, (store) => store.migrate(...pluginGroups)))
  })

  afterAll(async () => {
    await runtime?.dispose()
    await cleanup?.()
  })

  return {
    run,
    test: (name, body, timeout) => it(name, () => run(body).then(() => undefined), timeout),
    initialMigration: () => applied,
    pluginGroups,
    plugins,
  }
}

// --- assertions --------------------------------------------------------------------------------------------------

/** Asserts that `effect` fails with the typed error `tag` (a success or another error fails the test). */
export const expectFailure = <E extends { readonly _tag: string }, R>(
  effect: Effect.Effect<unknown, E, R>,
  tag: E["_tag"],
): Effect.Effect<void, never, R> =>
  Effect.map(Effect.either(effect), (result) => {
    expect(Either.isLeft(result) ? result.left._tag : "success").toBe(tag)
  })

/** Asserts the effect's result is `None`. */
export const expectNone = <R>(effect: Effect.Effect<Option.Option<unknown>, never, R>): Effect.Effect<void, never, R> =>
  Effect.map(effect, (option) => {
    expect(Option.isNone(option)).toBe(true)
  })

/** The value of a `Some`, failing the test on `None`. */
export const getSome = <A, E, R>(effect: Effect.Effect<Option.Option<A>, E, R>): Effect.Effect<A, E, R> =>
  Effect.map(effect, (option) => {
    expect(Option.isSome(option)).toBe(true)
    return Option.getOrThrow(option)
  })

/** Starts `n` copies of `f(i)` at once and waits for all of them. */
export const race = <A, E, R>(n: number, f: (i: number) => Effect.Effect<A, E, R>) =>
  Effect.all(
    Array.from({ length: n }, (_, i) => f(i)),
    { concurrency: "unbounded" },
  )

/** How many of the results are `true`. */
export const countTrue = (results: ReadonlyArray<boolean>) => results.filter(Boolean).length
