/** The social plugin's part of the store conformance suite. */
import { Effect } from "effect"
import { expect } from "vitest"
import type { PluginConformance } from "../../conformance/harness.js"
import { expectFailure, expectNone, Fixtures, getSome, Seed } from "../../conformance/index.js"
import type * as M from "../../domain/models.js"
import { socialMigrations } from "./migrations.js"
import { type OAuthConnection, OAuthConnectionId, OAuthConnectionStore } from "./store.js"
import { OAuthConnectionStoreLive } from "./stores.js"

const { HOUR, at, nextStamp, unique } = Fixtures
const NOW = at(HOUR)

export const makeOAuthConnection = (user: M.User, overrides: Partial<OAuthConnection> = {}): OAuthConnection => {
  const createdAt = nextStamp()
  return {
    id: OAuthConnectionId.make(),
    appId: user.appId,
    userId: user.id,
    provider: "github",
    providerUserId: unique("gh"),
    email: user.email,
    accessToken: "gho_access",
    refreshToken: null,
    expiresAt: null,
    scope: "read:user",
    createdAt,
    updatedAt: createdAt,
    ...overrides,
  }
}

export const conformance: PluginConformance<OAuthConnectionStore> = {
  name: "OAuthConnectionStore",
  migrations: socialMigrations,
  layer: OAuthConnectionStoreLive,
  suite: (h) => {
    h.test(
      "create/findByProviderUser; unique per app, provider and provider user (Conflict); listByUser oldest first",
      Effect.gen(function* () {
        const connections = yield* OAuthConnectionStore
        const tenant = yield* Seed.seedTenant()
        const user = yield* Seed.seedUser(tenant)
        const github = makeOAuthConnection(user, { refreshToken: "ghr_refresh", expiresAt: at(8 * HOUR) })
        expect(yield* connections.create(github)).toEqual(github)
        expect(yield* getSome(connections.findByProviderUser(tenant.app.id, "github", github.providerUserId))).toEqual(
          github,
        )
        const google = yield* connections.create(makeOAuthConnection(user, { provider: "google" }))
        const sameAccount = { provider: "github", providerUserId: github.providerUserId }
        yield* expectFailure(
          connections.create(makeOAuthConnection(yield* Seed.seedUser(tenant), sameAccount)),
          "Conflict",
        )
        yield* connections.create(makeOAuthConnection(yield* Seed.userInNewTenant, sameAccount))
        expect(yield* connections.listByUser(user.id)).toEqual([github, google])
        yield* expectNone(connections.findByProviderUser(tenant.app.id, "google", github.providerUserId))
      }),
    )

    h.test(
      "updateTokens replaces the tokens and stamps updatedAt; delete by user and provider; NotFound",
      Effect.gen(function* () {
        const connections = yield* OAuthConnectionStore
        const user = yield* Seed.userInNewTenant
        const connection = yield* connections.create(makeOAuthConnection(user))
        const tokens = { accessToken: "gho_new", refreshToken: "ghr_new", expiresAt: at(9 * HOUR), scope: "user:email" }
        const updated = yield* connections.updateTokens(connection.id, tokens, NOW)
        expect(updated).toEqual({ ...connection, ...tokens, updatedAt: NOW })
        expect(yield* connections.listByUser(user.id)).toEqual([updated])
        yield* expectFailure(connections.updateTokens(OAuthConnectionId.make(), tokens, NOW), "NotFound")
        yield* connections.delete(user.id, "github")
        yield* expectNone(connections.findByProviderUser(user.appId, "github", connection.providerUserId))
        yield* expectFailure(connections.delete(user.id, "github"), "NotFound")
      }),
    )
  },
  ownedRows: (user) =>
    Effect.gen(function* () {
      const connections = yield* OAuthConnectionStore
      const connection = yield* connections.create(makeOAuthConnection(user)).pipe(Effect.orDie)
      return Effect.map(connections.findByProviderUser(user.appId, "github", connection.providerUserId), (found) => ({
        oauthConnection: found._tag === "Some",
      }))
    }),
}
