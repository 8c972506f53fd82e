import { MemoryStore } from "../../src/layers/memory/index.js"
import { runConformance } from "../../src/conformance/index.js"
import { builtInConformance } from "./plugins.js"

runConformance("MemoryStore", () => ({ layer: MemoryStore.layer }), builtInConformance)
