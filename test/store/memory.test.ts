import { MemoryStore } from "../../src/layers/memory/index.js"
import { runConformance } from "./conformance.js"

runConformance("MemoryStore", () => ({ layer: MemoryStore.layer }))
