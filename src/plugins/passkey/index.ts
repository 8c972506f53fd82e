/**
 * `authsome/passkey`: the passkey plugin's tables and store (its routes and services come with the sign-in-methods work).
 */
export { passkeyMigrations } from "./migrations.js"
export { Passkey, PasskeyId, PasskeyStore, type PasskeyStoreShape } from "./store.js"
export { PasskeyStoreLive } from "./stores.js"
