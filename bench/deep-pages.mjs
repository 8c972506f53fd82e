// The deep-page scenario, in its own process: median time of `UserStore.list` for the first page and for the page
// after `DEPTH` users, through the real PostgreSQL store (cursor paging must not get slower with depth).
import { Effect, Layer, ManagedRuntime } from "effect"
import * as Pg from "../dist/layers/pg.js"
import { PostgresStore } from "../dist/layers/postgres/index.js"
import { UserStore } from "../dist/services/store/index.js"
import pg from "pg"

const depth = Number(process.env.DEPTH)
const appId = process.env.APP_ID
const client = new pg.Client({ connectionString: process.env.DATABASE_URL })
await client.connect()
const { rows } = await client.query(
  "SELECT id FROM authsome_users WHERE app_id = $1 AND deleted_at IS NULL ORDER BY id DESC OFFSET $2 LIMIT 1",
  [appId, depth - 1],
)
await client.end()
const cursor = rows[0].id

const runtime = ManagedRuntime.make(
  PostgresStore.layer.pipe(Layer.provide(Pg.layer(process.env.DATABASE_URL, { maxConnections: 2, minConnections: 1 }))),
)
const median = async (query) => {
  const times = []
  for (let i = 0; i < 300; i++) {
    const started = performance.now()
    await runtime.runPromise(Effect.flatMap(UserStore, (users) => users.list(appId, query)))
    times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}
await median({ limit: 20 }) // warm-up
const firstMs = await median({ limit: 20 })
const deepMs = await median({ limit: 20, cursor })
await runtime.dispose()
process.send({ firstMs, deepMs, depth })
process.exit(0)
