/**
 * Password hashing: argon2id in PHC string format (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), through
 * `@node-rs/argon2` on a pool of low-priority worker threads (`argon2-pool.ts`), so the event loop stays free — and
 * keeps the CPU it needs — while hashes are computed.
 *
 * Passwords travel as `Redacted<string>` and are unwrapped only at the call into the native library: they never
 * reach logs, errors or span attributes.
 */
import type { Algorithm, Options } from "@node-rs/argon2"
import { Effect, Layer, Option, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { availableParallelism } from "node:os"
import { Unavailable } from "../../domain/errors.js"
import { Argon2QueueFull, makeArgon2Pool } from "./argon2-pool.js"

/** Argon2id cost parameters. */
export interface HashParams {
  /** Memory cost in KiB (`m=` in the PHC string). */
  readonly memoryCost: number
  /** Number of passes (`t=`). */
  readonly timeCost: number
  /** Degree of parallelism (`p=`). */
  readonly parallelism: number
}

/** OWASP Password Storage Cheat Sheet, argon2id: m=19456 KiB (19 MiB), t=2, p=1. */
export const defaultHashParams: HashParams = { memoryCost: 19456, timeCost: 2, parallelism: 1 }

/** Options of the hasher that do not affect the hashes. */
export interface HasherOptions {
  /**
   * How many hashes/verifications run at once (the worker threads); more wait for a turn. Default: one per CPU, at
   * most 4 (on two cores, one more gave the same sign-ins/s — 105.6/112.5 vs 107.7/111.5, interleaved — and a
   * 17 MB higher peak RSS). The workers run at low priority, so they take only the CPU the event loop leaves; each
   * holds `memoryCost` KiB while it hashes.
   */
  readonly maxConcurrency?: number
  /** The workers' `nice` value (Linux; 0 to 19). Default 19: hashing yields to everything else. */
  readonly niceness?: number
  /**
   * How many hashes may wait for a worker (default {@link defaultMaxQueued}). Past it a password request fails at once
   * with `Unavailable` (503 with `Retry-After`) instead of queueing behind a flood.
   */
  readonly maxQueued?: number
}

/** About a second of work for the default pool on two cores. */
export const defaultMaxQueued = 64

export const defaultMaxConcurrency = (): number => Math.min(4, availableParallelism())

/** `Algorithm.Argon2id` of `@node-rs/argon2` (an ambient const enum, which `isolatedModules` cannot reference). */
const ARGON2ID = 2 as Algorithm
/** Argon2 version 0x13 = 19, the current one. */
const CURRENT_VERSION = 19

/** The parts of a PHC string that matter for re-hashing. */
export interface ParsedPhc {
  readonly algorithm: string
  /** `v=`; `16` when the field is absent (argon2 before 1.3 omitted it). */
  readonly version: number
  readonly memoryCost: number
  readonly timeCost: number
  readonly parallelism: number
}

const positiveInt = (s: string | undefined): Option.Option<number> =>
  s !== undefined && /^[1-9][0-9]{0,9}$/.test(s) ? Option.some(Number(s)) : Option.none()

/**
 * Parses an argon2 PHC string (`$argon2{id,i,d}[$v=N]$m=..,t=..,p=..[,...]$salt$hash`). `None` for anything else
 * (bcrypt, scrypt, garbage).
 */
export const parsePhc = (phc: string): Option.Option<ParsedPhc> => {
  const parts = phc.split("$")
  // ["", algorithm, ("v=19",)? "m=..,t=..,p=..", salt, hash]
  if (parts[0] !== "" || (parts.length !== 5 && parts.length !== 6)) return Option.none()
  const algorithm = parts[1] ?? ""
  if (!/^argon2(id|i|d)$/.test(algorithm)) return Option.none()
  let version = 16
  let index = 2
  if (parts.length === 6) {
    const v = /^v=([0-9]+)$/.exec(parts[2] ?? "")
    if (!v) return Option.none()
    version = Number(v[1])
    index = 3
  }
  const fields = new Map<string, string>()
  for (const kv of (parts[index] ?? "").split(",")) {
    const eq = kv.indexOf("=")
    if (eq <= 0) return Option.none()
    fields.set(kv.slice(0, eq), kv.slice(eq + 1))
  }
  const salt = parts[index + 1] ?? ""
  const digest = parts[index + 2] ?? ""
  if (!/^[A-Za-z0-9+/]+$/.test(salt) || !/^[A-Za-z0-9+/]+$/.test(digest)) return Option.none()
  return Option.all({
    memoryCost: positiveInt(fields.get("m")),
    timeCost: positiveInt(fields.get("t")),
    parallelism: positiveInt(fields.get("p")),
  }).pipe(Option.map((costs) => ({ algorithm, version, ...costs })))
}

/**
 * Whether a stored hash is weaker than `params`: not argon2id (or not a PHC string at all), an older argon2
 * version, or any of m/t/p below the configured value. Stronger stored parameters do not trigger a re-hash.
 */
export const phcNeedsRehash = (phc: string, params: HashParams): boolean =>
  Option.match(parsePhc(phc), {
    onNone: () => true,
    onSome: (p) =>
      p.algorithm !== "argon2id" ||
      p.version < CURRENT_VERSION ||
      p.memoryCost < params.memoryCost ||
      p.timeCost < params.timeCost ||
      p.parallelism < params.parallelism,
  })

const argon2Options = (params: HashParams): Options => ({
  algorithm: ARGON2ID,
  memoryCost: params.memoryCost,
  timeCost: params.timeCost,
  parallelism: params.parallelism,
})

/** What argon2 refuses in `params` (its own limits: m ≥ 8·p, p < 2^24, each below 2^32), if anything. */
const argon2ParamsProblem = ({ memoryCost, timeCost, parallelism }: HashParams): string | undefined => {
  const integral = (n: number) => Number.isInteger(n) && n >= 1 && n <= 0xffffffff
  if (!integral(memoryCost) || !integral(timeCost) || !integral(parallelism))
    return "each cost must be a positive integer below 2^32"
  if (parallelism > 0xffffff) return "parallelism must be below 2^24"
  if (memoryCost < 8 * parallelism) return "memoryCost must be at least 8 × parallelism"
  return undefined
}

const phcBase64 = (bytes: Buffer) => bytes.toString("base64").replace(/=+$/, "")

/**
 * A PHC string with the configured parameters, a random salt and a random 32-byte digest: verifying a password
 * against it computes exactly what verifying against a real hash does (the digest is only compared), and always fails.
 * Made without hashing, so start-up does not wait for a hash worker to boot and hash.
 */
export const dummyPhcOf = ({ memoryCost, timeCost, parallelism }: HashParams) =>
  `$argon2id$v=${CURRENT_VERSION}$m=${memoryCost},t=${timeCost},p=${parallelism}` +
  `$${phcBase64(randomBytes(16))}$${phcBase64(randomBytes(32))}`

/**
 * Builds the service implementation, with a dummy hash of the same parameters (`dummyPhcOf`), so `verifyDummy`
 * costs what a real verification costs. Invalid parameters are a defect at construction.
 */
const makeHasher = (params: HashParams, hasherOptions: HasherOptions = {}) =>
  Effect.gen(function* () {
    const problem = argon2ParamsProblem(params)
    if (problem !== undefined) return yield* Effect.dieMessage(`invalid argon2 parameters: ${problem}`)
    const options = argon2Options(params)
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() =>
        makeArgon2Pool(
          Math.max(1, Math.floor(hasherOptions.maxConcurrency ?? defaultMaxConcurrency())),
          hasherOptions.niceness ?? 19,
          Math.max(0, Math.floor(hasherOptions.maxQueued ?? defaultMaxQueued)),
        ),
      ),
      (pool) => Effect.promise(() => pool.close()),
    )

    const busy = new Unavailable({
      message: "too many password requests at once; try again shortly",
      retryAfterSeconds: 1,
    })

    const hashRaw = (plain: string | Uint8Array) =>
      Effect.tryPromise({ try: () => pool.hash(plain, options), catch: (cause) => cause }).pipe(
        Effect.catchAll((cause) =>
          cause instanceof Argon2QueueFull
            ? Effect.fail(busy)
            : // The error never contains the input, but keep only its message to be sure nothing else leaks.
              Effect.die(new Error(`argon2 hash failed: ${cause instanceof Error ? cause.message : "unknown"}`)),
        ),
      )

    /** A malformed stored hash verifies as `false`; only a full queue is an error. */
    const verifyRaw = (phc: string, plain: string) =>
      Effect.tryPromise({ try: () => pool.verify(phc, plain), catch: (cause) => cause }).pipe(
        Effect.catchAll((cause) => (cause instanceof Argon2QueueFull ? Effect.fail(busy) : Effect.succeed(false))),
      )

    const dummyPhc = dummyPhcOf(params)

    /** Hashes a password with the configured parameters; returns the PHC string. `Unavailable` when the queue is full. */
    const hash = (password: Redacted.Redacted<string>): Effect.Effect<string, Unavailable> =>
      hashRaw(Redacted.value(password)).pipe(Effect.withSpan("PasswordHasher.hash"))

    /**
     * Whether `password` matches the stored PHC string. A malformed or non-argon2 stored hash gives `false`
     * (never an error), after a dummy verification so that it takes the usual time. The parameters are taken from
     * the stored string, so older (weaker) argon2 hashes still verify.
     */
    const verify = (phc: string, password: Redacted.Redacted<string>): Effect.Effect<boolean, Unavailable> =>
      Effect.suspend(() =>
        Option.isSome(parsePhc(phc))
          ? verifyRaw(phc, Redacted.value(password))
          : Effect.as(verifyRaw(dummyPhc, Redacted.value(password)), false),
      ).pipe(Effect.withSpan("PasswordHasher.verify"))

    /** Whether a stored hash should be replaced by a fresh `hash` (after a successful `verify`). */
    const needsRehash = (phc: string): Effect.Effect<boolean> => Effect.sync(() => phcNeedsRehash(phc, params))

    /**
     * Verifies `password` against the dummy hash, for an unknown user, so that the response takes as long as a
     * wrong password for a known one. Always `false`.
     */
    const verifyDummy = (password: Redacted.Redacted<string>): Effect.Effect<boolean, Unavailable> =>
      verifyRaw(dummyPhc, Redacted.value(password)).pipe(
        Effect.as(false),
        Effect.withSpan("PasswordHasher.verifyDummy"),
      )

    return { params, hash, verify, needsRehash, verifyDummy } as const
  })

/**
 * The password hasher. `PasswordHasher.Default` uses {@link defaultHashParams}; `PasswordHasher.layer(params)`
 * builds one with other costs (call it once and reuse the layer value: each call is a new layer, built anew).
 */
export class PasswordHasher extends Effect.Service<PasswordHasher>()("authsome/PasswordHasher", {
  scoped: makeHasher(defaultHashParams),
}) {
  /** A layer with the given cost parameters (missing ones default to {@link defaultHashParams}). */
  static readonly layer = (
    params: Partial<HashParams> = {},
    options: HasherOptions = {},
  ): Layer.Layer<PasswordHasher> =>
    Layer.scoped(
      PasswordHasher,
      Effect.map(makeHasher({ ...defaultHashParams, ...params }, options), (impl) => PasswordHasher.make(impl)),
    )
}
