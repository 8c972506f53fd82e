/** The social plugin's store layers: SQL or memory, whichever backend the store layer runs on. */
import { Layer } from "effect"
import { storeLayer } from "../../plugin/store.js"
import { makeMemoryOAuthConnectionStore, makeMemoryOAuthStateStore } from "./memory.js"
import { makeSqlOAuthConnectionStore, makeSqlOAuthStateStore } from "./postgres.js"
import { OAuthConnectionStore, OAuthStateStore } from "./store.js"

export const OAuthConnectionStoreLive = storeLayer(OAuthConnectionStore, {
  sql: makeSqlOAuthConnectionStore,
  memory: makeMemoryOAuthConnectionStore,
})

export const OAuthStateStoreLive = storeLayer(OAuthStateStore, {
  sql: makeSqlOAuthStateStore,
  memory: makeMemoryOAuthStateStore,
})

/** Both of the plugin's stores. */
export const SocialStoresLive = Layer.merge(OAuthConnectionStoreLive, OAuthStateStoreLive)
