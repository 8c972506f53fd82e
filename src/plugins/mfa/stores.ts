/** The MfaStore layer: SQL or memory, whichever backend the store layer runs on. */
import { storeLayer } from "../../plugin/store.js"
import { makeMemoryMfaStore } from "./memory.js"
import { makeSqlMfaStore } from "./postgres.js"
import { MfaStore } from "./store.js"

export const MfaStoreLive = storeLayer(MfaStore, { sql: makeSqlMfaStore, memory: makeMemoryMfaStore })
