/**
 * `authsome/memory`: the memory store (every store in process memory, for tests) and the store conformance suite
 * that every store implementation passes — run it against a store of your own with `runConformance`.
 * The suite registers vitest tests, so importing it needs `vitest`.
 */
export { MemoryStore } from "./layers/memory/index.js"
export {
  type ConformanceTarget,
  countTrue,
  expectFailure,
  expectNone,
  Fixtures,
  getSome,
  type Harness,
  type PluginConformance,
  race,
  RawUserReader,
  runConformance,
  Seed,
  type StoreEffect,
} from "./conformance/index.js"
