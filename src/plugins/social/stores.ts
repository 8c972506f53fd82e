/** The OAuthConnectionStore layer: SQL or memory, whichever backend the store layer runs on. */
import { storeLayer } from "../../plugin/store.js"
import { makeMemoryOAuthConnectionStore } from "./memory.js"
import { makeSqlOAuthConnectionStore } from "./postgres.js"
import { OAuthConnectionStore } from "./store.js"

export const OAuthConnectionStoreLive = storeLayer(OAuthConnectionStore, {
  sql: makeSqlOAuthConnectionStore,
  memory: makeMemoryOAuthConnectionStore,
})
