import { Layer } from "effect"
import * as Pglite from "../../src/layers/pglite.js"
import { PostgresStore } from "../../src/layers/postgres/index.js"
import { runConformance } from "../../src/conformance/index.js"
import { builtInConformance } from "./plugins.js"
import { sqlRawUserReader } from "./sql.js"

// An in-memory embedded database: fresh for this file, gone when the runtime is disposed.
runConformance(
  "PostgresStore on PGlite",
  () => ({
    layer: Layer.merge(PostgresStore.layer, sqlRawUserReader).pipe(Layer.provide(Pglite.layer())),
  }),
  builtInConformance,
)
