// Baseline for sign-in: raw argon2id verifications per second with the server's parameters and the load
// generator's concurrency, on libuv's thread pool like the server's.
import { hash, verify } from "@node-rs/argon2"

const concurrency = Number(process.env.CONCURRENCY ?? 8)
const seconds = Number(process.env.SECONDS ?? 10)
const params = { memoryCost: 19456, timeCost: 2, parallelism: 1 }

const phc = await hash("correct horse battery staple", params)
const deadline = Date.now() + seconds * 1000
let done = 0
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (Date.now() < deadline) {
      await verify(phc, "correct horse battery staple")
      done++
    }
  }),
)
process.stdout.write(JSON.stringify({ verifications: done, perSecond: done / seconds }))
