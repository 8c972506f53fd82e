import { Effect, Layer } from "effect"
import { RawUserReader, runConformance } from "../../src/conformance/index.js"
import { StoreBackend } from "../../src/layers/backend.js"
import { MemoryStore } from "../../src/layers/memory/index.js"
import { builtInConformance } from "./plugins.js"

/** The stored user row, read past the stores' soft-delete filter (straight from the memory engine's table). */
const memoryRawUserReader = Layer.effect(
  RawUserReader,
  Effect.map(StoreBackend, (backend) => (id) => {
    if (backend.kind !== "memory") return Effect.dieMessage("not the memory store")
    return backend.engine.run((db) => {
      const row = db.find("users", id)
      if (row === undefined) return undefined
      const { email, firstName, lastName, image, username, phone, metadata, deletedAt } = row
      return { email, firstName, lastName, image, username, phone, metadata, deletedAt }
    })
  }),
)

runConformance(
  "MemoryStore",
  () => ({ layer: Layer.provideMerge(memoryRawUserReader, MemoryStore.layer) }),
  builtInConformance,
)
