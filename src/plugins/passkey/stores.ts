/** The PasskeyStore layer: SQL or memory, whichever backend the store layer runs on. */
import { storeLayer } from "../../plugin/store.js"
import { makeMemoryPasskeyStore } from "./memory.js"
import { makeSqlPasskeyStore } from "./postgres.js"
import { PasskeyStore } from "./store.js"

export const PasskeyStoreLive = storeLayer(PasskeyStore, { sql: makeSqlPasskeyStore, memory: makeMemoryPasskeyStore })
