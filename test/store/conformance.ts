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
import { type ConformanceTarget, makeHarness } from "./harness.js"
import { cascadeSuite } from "./suites/cascade.js"
import { identitySuite } from "./suites/identity.js"
import { lifecycleSuite } from "./suites/lifecycle.js"
import { organizationsSuite } from "./suites/organizations.js"
import { platformSuite } from "./suites/platform.js"
import { pluginsSuite } from "./suites/plugins.js"
import { sessionsSuite } from "./suites/sessions.js"
import { tenancySuite } from "./suites/tenancy.js"
import { usersSuite } from "./suites/users.js"

export type { ConformanceTarget } from "./harness.js"
export { RawUserReader } from "./harness.js"

/**
 * Registers the whole suite for one backend. `makeTarget` runs once (in `beforeAll`) and returns the layer of every
 * store over fresh state, plus an optional cleanup run after the layer is released.
 */
export const runConformance = (name: string, makeTarget: () => ConformanceTarget | Promise<ConformanceTarget>) =>
  describe(`store conformance: ${name}`, () => {
    const harness = makeHarness(makeTarget)
    lifecycleSuite(harness)
    tenancySuite(harness)
    usersSuite(harness)
    sessionsSuite(harness)
    identitySuite(harness)
    organizationsSuite(harness)
    platformSuite(harness)
    pluginsSuite(harness)
    cascadeSuite(harness)
  })
