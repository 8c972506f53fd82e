/**
 * `authsome/social`: the social plugin's tables and store (its routes and services come with the sign-in-methods work).
 */
export { socialMigrations } from "./migrations.js"
export {
  OAuthConnection,
  OAuthConnectionId,
  OAuthConnectionStore,
  type OAuthConnectionStoreShape,
  type OAuthTokens,
} from "./store.js"
export { OAuthConnectionStoreLive } from "./stores.js"
