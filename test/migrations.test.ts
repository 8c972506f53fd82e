import { SqlClient } from "@effect/sql"
import { Effect, Exit, ManagedRuntime } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Pg from "../src/layers/pg.js"
import * as Pglite from "../src/layers/pglite.js"
import { coreMigrations } from "../src/migrations/core.js"
import { migrationStatus, runMigrations } from "../src/migrations/runner.js"
import { ddl } from "../src/migrations/sql.js"
import { createDatabase } from "./support/postgres.js"
import { allMigrationGroups, expectedTables } from "./support/schema.js"

const tables = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ tablename: string }>`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
).pipe(Effect.map((rows) => rows.map((r) => r.tablename)))

const totalMigrations = allMigrationGroups.reduce((n, g) => n + g.migrations.length, 0)

describe("migrations on PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof createDatabase>>
  beforeAll(async () => {
    db = await createDatabase("mig")
  })
  afterAll(() => db?.drop())

  const runtimeFor = (url: string) => ManagedRuntime.make(Pg.layer(url, { maxConnections: 3, minConnections: 0 }))

  it("creates exactly the spec's tables, then applies nothing on a second run", async () => {
    const rt = runtimeFor(db.url)
    try {
      const first = await rt.runPromise(runMigrations(allMigrationGroups))
      expect(first).toHaveLength(totalMigrations)
      expect(await rt.runPromise(tables)).toEqual(expectedTables)
      const second = await rt.runPromise(runMigrations(allMigrationGroups))
      expect(second).toEqual([])
      const status = await rt.runPromise(migrationStatus(allMigrationGroups))
      expect(status).toHaveLength(totalMigrations)
      expect(status.every((s) => s.appliedAt instanceof Date)).toBe(true)
    } finally {
      await rt.dispose()
    }
  })

  it("records a migration whose name has a quote, sent in one query with the others", async () => {
    const fresh = await createDatabase("quote")
    const rt = runtimeFor(fresh.url)
    try {
      const quoted = { name: "quoted", migrations: [ddl(1, "o'brien's table", ["CREATE TABLE quoted (x int)"])] }
      expect(await rt.runPromise(runMigrations([coreMigrations, quoted]))).toHaveLength(
        coreMigrations.migrations.length + 1,
      )
      const status = await rt.runPromise(migrationStatus([coreMigrations, quoted]))
      expect(status.find((s) => s.group === "quoted")).toMatchObject({
        name: "o'brien's table",
        appliedAt: expect.any(Date),
      })
      expect(status.every((s) => s.appliedAt instanceof Date)).toBe(true)
    } finally {
      await rt.dispose()
      await fresh.drop()
    }
  })

  it("6 migrators started at once on an empty database all succeed, each migration recorded once", async () => {
    const fresh = await createDatabase("race")
    const runtimes = Array.from({ length: 6 }, () => runtimeFor(fresh.url))
    try {
      const results = await Promise.all(runtimes.map((rt) => rt.runPromise(runMigrations(allMigrationGroups))))
      expect(results.flat()).toHaveLength(totalMigrations)
      expect(results.filter((r) => r.length > 0)).toHaveLength(1)
      const rows = await runtimes[0]!.runPromise(
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM authsome_migrations`,
        ),
      )
      expect(rows[0]!.n).toBe(totalMigrations)
    } finally {
      await Promise.all(runtimes.map((rt) => rt.dispose()))
      await fresh.drop()
    }
  })

  it("a failing migration leaves nothing applied", async () => {
    const fresh = await createDatabase("fail")
    const rt = runtimeFor(fresh.url)
    try {
      // Sent in one query with the core's migrations: the failure still names the migration that failed.
      const broken = {
        name: "broken",
        migrations: [
          ddl(1, "fine", ["CREATE TABLE fine (x int)"]),
          ddl(2, "bad", ["CREATE TABLE nope (x no_such_type)"]),
        ],
      }
      const exit = await rt.runPromiseExit(runMigrations([coreMigrations, broken]))
      expect(exit).toMatchObject({
        _tag: "Failure",
        cause: { error: { _tag: "MigrationFailed", group: "broken", version: 2, name: "bad" } },
      })
      expect(String(Exit.isFailure(exit) && exit.cause)).toContain('type "no_such_type" does not exist')
      expect(await rt.runPromise(tables)).toEqual([])
      const status = await rt.runPromise(migrationStatus([coreMigrations]))
      expect(status.every((s) => s.appliedAt === null)).toBe(true)
    } finally {
      await rt.dispose()
      await fresh.drop()
    }
  })
})

describe("migrations on the embedded database", () => {
  it("creates the same tables and is idempotent", async () => {
    const rt = ManagedRuntime.make(Pglite.layer())
    try {
      expect(await rt.runPromise(runMigrations(allMigrationGroups))).toHaveLength(totalMigrations)
      expect(await rt.runPromise(tables)).toEqual(expectedTables)
      expect(await rt.runPromise(runMigrations(allMigrationGroups))).toEqual([])
    } finally {
      await rt.dispose()
    }
  })

  it("keeps its data in a directory across restarts", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs")
    const { tmpdir } = await import("node:os")
    const { join } = await import("node:path")
    const dir = mkdtempSync(join(tmpdir(), "authsome-pglite-"))
    try {
      const first = ManagedRuntime.make(Pglite.layer({ dataDir: dir }))
      await first.runPromise(runMigrations(allMigrationGroups))
      await first.dispose()
      const second = ManagedRuntime.make(Pglite.layer({ dataDir: dir }))
      expect(await second.runPromise(runMigrations(allMigrationGroups))).toEqual([])
      await second.dispose()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
