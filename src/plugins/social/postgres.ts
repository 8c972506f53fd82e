/** `OAuthConnectionStore` on SQL. */
import { Effect } from "effect"
import { Sql } from "../../plugin/store.js"
import { OAuthConnection, OAuthConnectionStore } from "./store.js"

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
