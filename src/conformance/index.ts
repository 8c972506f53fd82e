/**
 * The store conformance suite: every store implementation (`MemoryStore.layer`, `PostgresStore.layer` on PGlite and
 * on PostgreSQL) must pass it unchanged. It checks the contracts written in the store interfaces' doc comments
 * (`src/services/store/*.ts`): typed errors, uniqueness scopes, orderings, soft delete, atomic single-use
 * artifacts under concurrency, refresh-token rotation and families, transactions and the app-delete cascade.
 *
 * Each entry file calls `runConformance` once; the backend is built once per file with fresh state, and every test
 * creates its own apps, so tests never depend on each other's rows.
 */
import { describe } from "vitest"
import { type ConformanceTarget, makeHarness, type PluginConformance } from "./harness.js"
import { cascadeSuite } from "./suites/cascade.js"
import { identitySuite } from "./suites/identity.js"
import { lifecycleSuite } from "./suites/lifecycle.js"
import { organizationsSuite } from "./suites/organizations.js"
import { platformSuite } from "./suites/platform.js"
import { sessionsSuite } from "./suites/sessions.js"
import { tenancySuite } from "./suites/tenancy.js"
import { usersSuite } from "./suites/users.js"

export type { ConformanceTarget, Harness, PluginConformance, StoreEffect } from "./harness.js"
export { countTrue, expectFailure, expectNone, getSome, race, RawUserReader } from "./harness.js"
export * as Fixtures from "./fixtures.js"
export * as Seed from "./seed.js"

/**
 * Registers the whole suite for one backend. `makeTarget` runs once (in `beforeAll`) and returns the layer of every
 * store over fresh state, plus an optional cleanup run after the layer is released. `plugins` adds each plugin's
 * stores, migrations and tests (e.g. `Password.conformance`).
 */
export const runConformance = (
  name: string,
  makeTarget: () => ConformanceTarget | Promise<ConformanceTarget>,
  plugins: ReadonlyArray<PluginConformance> = [],
) =>
  describe(`store conformance: ${name}`, () => {
    const harness = makeHarness(makeTarget, plugins)
    lifecycleSuite(harness)
    tenancySuite(harness)
    usersSuite(harness)
    sessionsSuite(harness)
    identitySuite(harness)
    organizationsSuite(harness)
    platformSuite(harness)
    for (const plugin of plugins) describe(plugin.name, () => plugin.suite(harness))
    cascadeSuite(harness)
  })
