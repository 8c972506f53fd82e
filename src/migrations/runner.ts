/**
 * The migration orchestrator. All pending migrations of all groups run in ONE transaction under a cluster-wide
 * `pg_advisory_xact_lock`: a failure applies nothing, concurrent starts serialise (each migration runs once), and a
 * second run applies nothing. The tracking table is created inside the lock, so even the very first concurrent
 * starts on an empty database do not race.
 */
import { SqlClient } from "@effect/sql"
import { Data, Effect } from "effect"
import type { AppliedMigration, Migration, MigrationGroup, MigrationStatus } from "./types.js"

export class MigrationFailed extends Data.TaggedError("MigrationFailed")<{
  readonly group: string
  readonly version: number
  readonly name: string
  readonly cause: unknown
}> {
  override get message() {
    return `migration ${this.group}/${this.version} (${this.name}) failed: ${describe(this.cause)}`
  }
}

export class InvalidMigrationGroups extends Data.TaggedError("InvalidMigrationGroups")<{ readonly message: string }> {}

const describe = (cause: unknown): string => {
  const inner = (cause as { cause?: unknown })?.cause ?? cause
  return inner instanceof Error ? inner.message : String(inner)
}

const validate = (groups: ReadonlyArray<MigrationGroup>) => {
  const seen = new Set<string>()
  for (const group of groups) {
    if (seen.has(group.name))
      return Effect.fail(new InvalidMigrationGroups({ message: `duplicate group ${group.name}` }))
    seen.add(group.name)
    const versions = new Set<number>()
    for (const m of group.migrations) {
      if (!Number.isInteger(m.version) || m.version <= 0 || versions.has(m.version)) {
        return Effect.fail(
          new InvalidMigrationGroups({ message: `invalid or duplicate version ${m.version} in group ${group.name}` }),
        )
      }
      versions.add(m.version)
    }
  }
  return Effect.void
}

const sorted = (group: MigrationGroup) => [...group.migrations].sort((a, b) => a.version - b.version)

const ensureTable = (sql: SqlClient.SqlClient) =>
  sql`CREATE TABLE IF NOT EXISTS authsome_migrations (
    "group" text NOT NULL,
    version integer NOT NULL,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT authsome_migrations_pkey PRIMARY KEY ("group", version)
  )`

interface Pending {
  readonly group: string
  readonly migration: Migration
}

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`

/** Plain-SQL migrations and their tracking rows, as one multi-statement text. */
const batchText = (batch: ReadonlyArray<Pending>) =>
  batch
    .map(
      ({ group, migration }) =>
        `${migration.statements!.join(";\n")};\n` +
        `INSERT INTO authsome_migrations ("group", version, name) ` +
        `VALUES (${literal(group)}, ${migration.version}, ${literal(migration.name)})`,
    )
    .join(";\n")

/** Applies every pending migration of `groups` (in group order, then version order); returns what ran. */
export const runMigrations = (groups: ReadonlyArray<MigrationGroup>) =>
  Effect.gen(function* () {
    yield* validate(groups)
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const run = Effect.gen(function* () {
      yield* sql`SELECT pg_advisory_xact_lock(hashtext('authsome_migrations'))`
      yield* ensureTable(sql)
      const rows = yield* sql<{ group: string; version: number }>`SELECT "group", version FROM authsome_migrations`
      const applied = new Set(rows.map((r) => `${r.group}\u0000${r.version}`))
      const pending = groups.flatMap((group) =>
        sorted(group)
          .filter((m) => !applied.has(`${group.name}\u0000${m.version}`))
          .map((migration) => ({ group: group.name, migration })),
      )
      const applyOne = ({ group, migration: m }: Pending) =>
        m.up.pipe(
          Effect.provideService(SqlClient.SqlClient, sql),
          Effect.mapError((cause) => new MigrationFailed({ group, version: m.version, name: m.name, cause })),
          Effect.catchAllDefect((cause) => new MigrationFailed({ group, version: m.version, name: m.name, cause })),
          Effect.zipRight(
            sql`INSERT INTO authsome_migrations ("group", version, name) VALUES (${group}, ${m.version}, ${m.name})`,
          ),
        )
      // Runs of plain-SQL migrations go in one query with their tracking rows: one round trip instead of two per
      // migration (on an empty database the server builds its services meanwhile, and each round trip waits for the
      // event loop). A failed run is undone to its savepoint and applied one migration at a time, which names the
      // migration that fails.
      const appliedTogether = (run: ReadonlyArray<Pending>) =>
        Effect.gen(function* () {
          yield* sql`SAVEPOINT authsome_migrations_run`
          const together = yield* Effect.either(sql.unsafe(batchText(run)).unprepared)
          yield* together._tag === "Right"
            ? sql`RELEASE SAVEPOINT authsome_migrations_run`
            : sql`ROLLBACK TO SAVEPOINT authsome_migrations_run`
          return together._tag === "Right"
        })
      let index = 0
      while (index < pending.length) {
        // The run of plain-SQL migrations from here, or this one migration when it is not plain SQL.
        let end = index
        while (end < pending.length && pending[end]!.migration.statements !== undefined) end++
        end = Math.max(end, index + 1)
        const run = pending.slice(index, end)
        if (run.length === 1 || !(yield* appliedTogether(run))) {
          for (const one of run) yield* applyOne(one)
        }
        index = end
      }
      return pending.map(
        ({ group, migration }): AppliedMigration => ({ group, version: migration.version, name: migration.name }),
      )
    })
    return yield* sql.withTransaction(run)
  }).pipe(Effect.withSpan("authsome.migrate"))

/** Applied and pending migrations of `groups`, without changing anything. */
export const migrationStatus = (groups: ReadonlyArray<MigrationGroup>) =>
  Effect.gen(function* () {
    yield* validate(groups)
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const [exists] = yield* sql<{ exists: boolean }>`SELECT to_regclass('authsome_migrations') IS NOT NULL AS exists`
    const rows = exists?.exists
      ? yield* sql<{ group: string; version: number; applied_at: Date }>`
          SELECT "group", version, applied_at FROM authsome_migrations`
      : []
    const appliedAt = new Map(rows.map((r) => [`${r.group}\u0000${r.version}`, r.applied_at]))
    const status: Array<MigrationStatus> = []
    for (const group of groups) {
      for (const m of sorted(group)) {
        status.push({
          group: group.name,
          version: m.version,
          name: m.name,
          appliedAt: appliedAt.get(`${group.name}\u0000${m.version}`) ?? null,
        })
      }
    }
    return status
  })
