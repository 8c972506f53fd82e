/** `OAuthConnectionStore` and `OAuthStateStore` on the memory engine. */
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
import type { OAuthConnection, OAuthConnectionStoreShape, OAuthState, OAuthStateStoreShape } from "./store.js"

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

const oauthStates = memoryTable<OAuthState>()("oauthStates", {
  entity: "oauth_state",
  primaryKey: (state) => [state.stateHash],
  unique: {},
  foreignKeys: [ownedByApp, cascade("envId", "environments")],
})

export const makeMemoryOAuthStateStore = (engine: MemoryEngine): OAuthStateStoreShape => {
  engine.register(oauthStates)
  const { run, find } = engine
  return {
    create: (state) =>
      run((db) => {
        db.insert(oauthStates, state)
      }),
    consume: (stateHash, now) =>
      find((db) => {
        const state = db.find(oauthStates, stateHash)
        if (state === undefined) return undefined
        db.delete(oauthStates, state)
        return state.expiresAt.getTime() > now.getTime() ? state : undefined
      }),
    deleteExpired: (now) =>
      run((db) => db.deleteWhere(oauthStates, (state) => state.expiresAt.getTime() <= now.getTime())),
  }
}
