/** The social plugin's part of the store conformance suite. */
import { Effect, Option } from "effect"
import { expect } from "vitest"
import type { PluginConformance } from "../../conformance/harness.js"
import { countTrue, expectFailure, expectNone, Fixtures, getSome, race, Seed } from "../../conformance/index.js"
import type * as M from "../../domain/models.js"
import { socialMigrations } from "./migrations.js"
import {
  type OAuthConnection,
  OAuthConnectionId,
  OAuthConnectionStore,
  type OAuthState,
  OAuthStateStore,
} from "./store.js"
import { SocialStoresLive } from "./stores.js"

const { HOUR, MINUTE, at, hash, nextStamp, sweepEpoch, unique } = Fixtures
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

export const makeOAuthState = (
  tenant: { readonly appId: M.App["id"]; readonly envId: M.Environment["id"] },
  overrides: Partial<OAuthState> = {},
): OAuthState => {
  const createdAt = nextStamp()
  return {
    stateHash: hash(),
    appId: tenant.appId,
    envId: tenant.envId,
    provider: "oidc:acme",
    codeVerifier: "v1.sealed-verifier",
    nonce: unique("nonce"),
    redirectUrl: "/dashboard",
    expiresAt: new Date(createdAt.getTime() + 10 * MINUTE),
    createdAt,
    ...overrides,
  }
}

/** Whether the state is stored, leaving it stored (consuming is the only read, so a found state is put back). */
const stateExists = (state: OAuthState) =>
  Effect.flatMap(OAuthStateStore, (states) =>
    Effect.flatMap(states.consume(state.stateHash, state.createdAt), (found) =>
      Option.isSome(found) ? Effect.as(states.create(found.value), true) : Effect.succeed(false),
    ),
  )

export const conformance: PluginConformance<OAuthConnectionStore | OAuthStateStore> = {
  name: "social: OAuthConnectionStore, OAuthStateStore",
  migrations: socialMigrations,
  layer: SocialStoresLive,
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

    h.test(
      "OAuthStateStore: consume returns a live state once and removes it; an expired one is refused and removed",
      Effect.gen(function* () {
        const states = yield* OAuthStateStore
        const user = yield* Seed.userInNewTenant
        const state = makeOAuthState(user)
        yield* states.create(state)
        expect(yield* getSome(states.consume(state.stateHash, state.createdAt))).toEqual(state)
        yield* expectNone(states.consume(state.stateHash, state.createdAt))
        yield* expectNone(states.consume(hash(), state.createdAt))

        const expired = makeOAuthState(user)
        yield* states.create(expired)
        yield* expectNone(states.consume(expired.stateHash, expired.expiresAt))
        // Gone, not merely refused: the same hash is refused even at a time it would have been live.
        yield* expectNone(states.consume(expired.stateHash, expired.createdAt))
      }),
    )

    h.test(
      "OAuthStateStore: of concurrent consumers of one state exactly one gets it",
      Effect.gen(function* () {
        const states = yield* OAuthStateStore
        const state = makeOAuthState(yield* Seed.userInNewTenant)
        yield* states.create(state)
        const results = yield* race(8, () =>
          Effect.map(states.consume(state.stateHash, state.createdAt), Option.isSome),
        )
        expect(countTrue(results)).toBe(1)
      }),
    )

    const epoch = sweepEpoch()
    h.test(
      "OAuthStateStore: deleteExpired removes the states expired at or before now, and counts them",
      Effect.gen(function* () {
        const states = yield* OAuthStateStore
        const user = yield* Seed.userInNewTenant
        const past = { createdAt: epoch(0) }
        const expired = [
          makeOAuthState(user, { ...past, expiresAt: epoch(HOUR) }),
          makeOAuthState(user, { ...past, expiresAt: epoch(2 * HOUR) }),
        ]
        const live = makeOAuthState(user, { ...past, expiresAt: epoch(3 * HOUR) })
        for (const state of [...expired, live]) yield* states.create(state)
        expect(yield* states.deleteExpired(epoch(2 * HOUR))).toBe(2)
        expect(yield* states.deleteExpired(epoch(2 * HOUR))).toBe(0)
        for (const state of expired) yield* expectNone(states.consume(state.stateHash, epoch(0)))
        expect(yield* getSome(states.consume(live.stateHash, epoch(0)))).toEqual(live)
      }),
    )
  },
  ownedRows: (user) =>
    Effect.gen(function* () {
      const connections = yield* OAuthConnectionStore
      const connection = yield* connections.create(makeOAuthConnection(user)).pipe(Effect.orDie)
      const state = makeOAuthState(user)
      yield* Effect.flatMap(OAuthStateStore, (states) => states.create(state))
      return Effect.all({
        oauthConnection: Effect.map(
          connections.findByProviderUser(user.appId, "github", connection.providerUserId),
          Option.isSome,
        ),
        oauthState: stateExists(state),
      })
    }),
}
