import { Layer } from "effect"
import { describe } from "vitest"
import * as Pg from "../../src/layers/pg.js"
import { PostgresStore } from "../../src/layers/postgres/index.js"
import { createDatabase } from "../support/postgres.js"
import { runConformance } from "../../src/conformance/index.js"
import { builtInConformance } from "./plugins.js"
import { sqlRawUserReader } from "./sql.js"

describe("PostgreSQL", () => {
  // A fresh database for this file (parallel-safe), dropped afterwards.
  runConformance(
    "PostgresStore on PostgreSQL",
    async () => {
      const db = await createDatabase("store")
      const client = Pg.layer(db.url, { maxConnections: 10, minConnections: 0 })
      return {
        layer: Layer.merge(PostgresStore.layer, sqlRawUserReader).pipe(Layer.provide(client)),
        cleanup: db.drop,
      }
    },
    builtInConformance,
  )
})
