/** The password plugin's part of the store conformance suite (`runConformance(..., [Password.conformance])`). */
import { Effect } from "effect"
import { expect } from "vitest"
import type { PluginConformance } from "../../conformance/harness.js"
import { expectNone, Fixtures, getSome, Seed } from "../../conformance/index.js"
import type * as M from "../../domain/models.js"
import { passwordMigrations } from "./migrations.js"
import { type PasswordHash, PasswordHashStore } from "./store.js"
import { PasswordHashStoreLive } from "./stores.js"

const { hash, HOUR, at, nextStamp } = Fixtures
const NOW = at(HOUR)

export const makePasswordHash = (user: M.User, overrides: Partial<PasswordHash> = {}): PasswordHash => {
  const createdAt = nextStamp()
  return {
    userId: user.id,
    appId: user.appId,
    hash: `$argon2id$v=19$m=19456,t=2,p=1$${hash()}`,
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

export const conformance: PluginConformance<PasswordHashStore> = {
  name: "PasswordHashStore",
  migrations: passwordMigrations,
  layer: PasswordHashStoreLive,
  suite: (h) => {
    h.test(
      "set inserts, then replaces the hash keeping createdAt; get; delete (also when absent)",
      Effect.gen(function* () {
        const hashes = yield* PasswordHashStore
        const user = yield* Seed.userInNewTenant
        yield* expectNone(hashes.get(user.id))
        const first = makePasswordHash(user)
        yield* hashes.set(first)
        expect(yield* getSome(hashes.get(user.id))).toEqual(first)
        const second = makePasswordHash(user, { createdAt: NOW, updatedAt: NOW })
        yield* hashes.set(second)
        expect(yield* getSome(hashes.get(user.id))).toEqual({ ...second, createdAt: first.createdAt })
        yield* hashes.delete(user.id)
        yield* expectNone(hashes.get(user.id))
        yield* hashes.delete(user.id)
      }),
    )
  },
  ownedRows: (user) =>
    Effect.gen(function* () {
      const hashes = yield* PasswordHashStore
      yield* hashes.set(makePasswordHash(user))
      return Effect.map(hashes.get(user.id), (found) => ({ passwordHash: found._tag === "Some" }))
    }),
}
