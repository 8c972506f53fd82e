/** The PasswordHashStore layer: SQL or memory, whichever backend the store layer runs on. */
import { storeLayer } from "../../plugin/store.js"
import { makeMemoryPasswordHashStore } from "./memory.js"
import { makeSqlPasswordHashStore } from "./postgres.js"
import { PasswordHashStore } from "./store.js"

export const PasswordHashStoreLive = storeLayer(PasswordHashStore, {
  sql: makeSqlPasswordHashStore,
  memory: makeMemoryPasswordHashStore,
})
