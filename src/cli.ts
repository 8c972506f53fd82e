/**
 * The `authsome` command: `serve` (the standalone server) and `migrate [--status]`, on `DATABASE_URL` or the
 * embedded database.
 */
import { Command, Options } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { version } from "./engine.js"
import { isConnectionFailure } from "./layers/pg-connection.js"
import { PostgresStore } from "./layers/postgres/index.js"
import { allMigrationGroups, coreMigrations } from "./migrations/index.js"
import { type ServerSettings, readServerSettings } from "./server/env.js"
import { databaseLayer, serve } from "./server/main.js"
import { Store } from "./services/store/index.js"

/**
 * Reads the environment; a bad value ends the process with one line naming the variable, and so does a database
 * that cannot be reached at start-up (one line naming the cause and the sslmode).
 */
const withSettings = <A, E, R>(f: (settings: ServerSettings) => Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    let settings: ServerSettings
    try {
      settings = readServerSettings(process.env)
    } catch (error) {
      return Effect.zipRight(
        Console.error(`authsome: ${error instanceof Error ? error.message : String(error)}`),
        Effect.sync(() => process.exit(1)),
      )
    }
    return Effect.catchIf(f(settings), isConnectionFailure, (error) =>
      Effect.zipRight(
        Console.error(`authsome: ${(error as { message: string }).message}`),
        Effect.sync(() => process.exit(1)),
      ),
    )
  })

const pluginGroups = allMigrationGroups.filter((group) => group !== coreMigrations)

const serveCommand = Command.make("serve", {}, () => withSettings(serve)).pipe(
  Command.withDescription("Serve the API on PORT (default 8080)"),
)

const migrate = (status: boolean) =>
  Effect.gen(function* () {
    const store = yield* Store
    if (status) {
      for (const row of yield* store.migrationStatus(...pluginGroups)) {
        const state = row.appliedAt ? `applied ${row.appliedAt.toISOString()}` : "pending"
        yield* Console.log(
          `${row.group.padEnd(18)} ${String(row.version).padStart(3)}  ${row.name.padEnd(48)} ${state}`,
        )
      }
      return
    }
    const applied = yield* store.migrate(...pluginGroups)
    if (applied.length === 0) yield* Console.log("nothing to apply: the schema is up to date")
    for (const m of applied) yield* Console.log(`applied ${m.group} ${m.version} ${m.name}`)
  })

const migrateCommand = Command.make(
  "migrate",
  { status: Options.boolean("status").pipe(Options.withDescription("List applied and pending migrations")) },
  ({ status }) =>
    withSettings((settings) =>
      migrate(status).pipe(Effect.provide(PostgresStore.layer.pipe(Layer.provide(databaseLayer(settings))))),
    ),
).pipe(Command.withDescription("Apply pending migrations (core and every plugin), or list them with --status"))

const command = Command.make("authsome").pipe(Command.withSubcommands([serveCommand, migrateCommand]))

Command.run(command, { name: "authsome", version })(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disablePrettyLogger: true }),
)
