/** `OAuthConnectionStore` on the memory engine. */
import { NotFound } from "../../domain/errors.js"
import {
  byId,
  cascade,
  conflict,
  type MemoryEngine,
  memoryTable,
  oldestFirst,
  ownedByApp,
  sorted,
} from "../../plugin/store.js"
import type { OAuthConnection, OAuthConnectionStoreShape } from "./store.js"

const oauthConnections = memoryTable<OAuthConnection>()("oauthConnections", {
  entity: "oauth_connection",
  primaryKey: byId,
  unique: {
    providerUser: {
      key: (connection) => [connection.appId, connection.provider, connection.providerUserId],
      violation: conflict("provider account already linked"),
    },
  },
  foreignKeys: [ownedByApp, cascade("userId", "users")],
})

export const makeMemoryOAuthConnectionStore = (engine: MemoryEngine): OAuthConnectionStoreShape => {
  engine.register(oauthConnections)
  const { run, find } = engine
  return {
    create: (connection) => run((db) => db.insert(oauthConnections, connection), "Conflict"),
    findByProviderUser: (appId, provider, providerUserId) =>
      find((db) => db.findBy(oauthConnections, "providerUser", appId, provider, providerUserId)),
    listByUser: (userId) =>
      run((db) =>
        sorted(
          db.select(oauthConnections, (connection) => connection.userId === userId),
          oldestFirst,
        ),
      ),
    updateTokens: (id, { accessToken, refreshToken, expiresAt, scope }, now) =>
      run(
        (db) =>
          db.update(oauthConnections, db.get(oauthConnections, id), {
            accessToken,
            refreshToken,
            expiresAt,
            scope,
            updatedAt: now,
          }),
        "NotFound",
      ),
    delete: (userId, provider) =>
      run((db) => {
        const removed = db.deleteWhere(
          oauthConnections,
          (connection) => connection.userId === userId && connection.provider === provider,
        )
        if (removed === 0) throw new NotFound({ entity: "oauth_connection" })
      }, "NotFound"),
  }
}
