// `npm run dev`: bundles the program and serves it; `node --watch-path=src` (the npm script) restarts this on every
// change under src/. The bundle takes about a second, so a change is being served shortly after it is saved.
import { execFileSync } from "node:child_process"

execFileSync(process.execPath, [new URL("./bundle.mjs", import.meta.url).pathname], { stdio: "inherit" })
process.argv.splice(2, 0, "serve")
;(await import("../bin/bundle-loader.js")).runBundle()
