/** `OAuthConnectionStore` and `OAuthStateStore` on SQL. */
import { Effect, Option } from "effect"
import { Sql } from "../../plugin/store.js"
import { OAuthConnection, OAuthConnectionStore, OAuthState, OAuthStateStore } from "./store.js"

const OAuthConnections = Sql.tableOf("authsome_oauth_connections", OAuthConnection)

export const makeSqlOAuthConnectionStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return OAuthConnectionStore.of({
    create: (connection) =>
      sql`${Sql.insertInto(sql, OAuthConnections, [connection])} RETURNING ${OAuthConnections.select}`.pipe(
        Sql.onUniqueViolation(Sql.conflict),
        Sql.returned(OAuthConnections),
      ),
    findByProviderUser: (appId, provider, providerUserId) =>
      sql`SELECT ${OAuthConnections.select} FROM authsome_oauth_connections
          WHERE app_id = ${appId} AND provider = ${provider} AND provider_user_id = ${providerUserId}`.pipe(
        Sql.maybe(OAuthConnections),
      ),
    listByUser: (userId) =>
      sql`SELECT ${OAuthConnections.select} FROM authsome_oauth_connections WHERE user_id = ${userId}
          ORDER BY id`.pipe(Sql.all(OAuthConnections)),
    updateTokens: (id, tokens, now) =>
      sql`UPDATE authsome_oauth_connections SET ${Sql.assignments(sql, OAuthConnections, {
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
        expiresAt: tokens.expiresAt,
        scope: tokens.scope,
        updatedAt: now,
      })}
          WHERE id = ${id} RETURNING ${OAuthConnections.select}`.pipe(Sql.one(OAuthConnections, "oauth_connection")),
    delete: (userId, provider) =>
      sql`DELETE FROM authsome_oauth_connections WHERE user_id = ${userId} AND provider = ${provider} RETURNING 1`.pipe(
        Sql.found("oauth_connection"),
      ),
  })
})

const OAuthStates = Sql.tableOf("authsome_oauth_states", OAuthState)

export const makeSqlOAuthStateStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return OAuthStateStore.of({
    create: (state) => sql`${Sql.insertInto(sql, OAuthStates, [state])}`.pipe(Sql.exec),
    // The DELETE takes the row whatever its age, so an expired state is gone after one try as well.
    consume: (stateHash, now) =>
      sql`DELETE FROM authsome_oauth_states WHERE state_hash = ${stateHash} RETURNING ${OAuthStates.select}`.pipe(
        Sql.maybe(OAuthStates),
        Effect.map(Option.filter((state) => state.expiresAt.getTime() > now.getTime())),
      ),
    deleteExpired: (now) =>
      sql`WITH gone AS (DELETE FROM authsome_oauth_states WHERE expires_at <= ${now} RETURNING 1)
          SELECT count(*) AS count FROM gone`.pipe(Sql.count),
  })
})
