/**
 * The MFA plugin's code path without HTTP: TOTP against the RFC 6238 test vectors and against `otpauth` as an
 * authenticator app computes it, the `otpauth://` URL, recovery-code normalisation and hashing, sealed tickets.
 */
import { Effect, Layer, Option } from "effect"
import * as OTPAuth from "otpauth"
import { describe, expect, it } from "vitest"
import type * as M from "../src/domain/models.js"
import { newId } from "../src/domain/ids.js"
import { newRecoveryCode, normalizeRecoveryCode, recoveryCodeHash } from "../src/plugins/mfa/recovery.js"
import { openTicket, sealTicket } from "../src/plugins/mfa/tickets.js"
import { codeAt, isTotpCode, matchStep, newSeed, otpauthUrl, stepAt } from "../src/plugins/mfa/totp.js"
import { AuthConfig } from "../src/services/config.js"
import { SecretBox } from "../src/services/secrets.js"

// RFC 6238 Appendix B, SHA-1: the seed is the ASCII "12345678901234567890", codes have 8 digits.
const rfcSeed = OTPAuth.Secret.fromLatin1("12345678901234567890").base32
const rfcVectors: ReadonlyArray<readonly [seconds: number, code: string]> = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
]

describe("TOTP (RFC 6238)", () => {
  it("matches the RFC 6238 SHA-1 test vectors (8 digits, and their 6-digit truncation used by apps)", () => {
    for (const [seconds, code] of rfcVectors) {
      const step = Math.floor(seconds / 30)
      expect(codeAt(rfcSeed, step, 8)).toBe(code)
      expect(matchStep(rfcSeed, code, seconds * 1000, 8)).toBe(step)
      // Dynamic truncation mod 10^6: the app's 6-digit code is the last 6 digits of the 8-digit one.
      expect(codeAt(rfcSeed, step)).toBe(code.slice(2))
      expect(matchStep(rfcSeed, code.slice(2), seconds * 1000)).toBe(step)
    }
  })

  it("accepts the codes of the step before and after (clock drift), not two steps away", () => {
    const seed = newSeed()
    const app = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(seed) })
    const now = Date.parse("2031-05-05T10:00:10Z")
    const step = stepAt(now)
    expect(matchStep(seed, app.generate({ timestamp: now }), now)).toBe(step)
    expect(matchStep(seed, app.generate({ timestamp: now - 30_000 }), now)).toBe(step - 1)
    expect(matchStep(seed, app.generate({ timestamp: now + 30_000 }), now)).toBe(step + 1)
    for (const offset of [-60_000, 60_000, 3_600_000]) {
      const far = app.generate({ timestamp: now + offset })
      // A far code can collide with a near one by chance (1 in 10^6 per step); only a genuine miss is meaningful.
      if (![-1, 0, 1].some((d) => app.generate({ timestamp: now + d * 30_000 }) === far)) {
        expect(matchStep(seed, far, now)).toBeUndefined()
      }
    }
    expect(matchStep(seed, "12345", now)).toBeUndefined()
    expect(matchStep(seed, "1234567", now)).toBeUndefined()
  })

  it("seeds are 160 random bits; the otpauth:// URL is what authenticator apps parse", () => {
    const seed = newSeed()
    expect(seed).toMatch(/^[A-Z2-7]{32}$/)
    expect(newSeed()).not.toBe(seed)
    const url = otpauthUrl(seed, "Acme Inc", "ada@example.com")
    expect(url.startsWith("otpauth://totp/")).toBe(true)
    const parsed = OTPAuth.URI.parse(url)
    expect(parsed).toBeInstanceOf(OTPAuth.TOTP)
    const totp = parsed as OTPAuth.TOTP
    expect([totp.issuer, totp.label, totp.algorithm, totp.digits, totp.period]).toEqual([
      "Acme Inc",
      "ada@example.com",
      "SHA1",
      6,
      30,
    ])
    expect(totp.secret.base32).toBe(seed)
    expect(isTotpCode("012345")).toBe(true)
    expect(isTotpCode("01234a")).toBe(false)
  })
})

describe("recovery codes", () => {
  it("are 10 characters of Crockford base32 shown as xxxxx-xxxxx, read back whatever the case and dashes", () => {
    const codes = Array.from({ length: 200 }, newRecoveryCode)
    expect(new Set(codes).size).toBe(200)
    for (const code of codes) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/)
    const code = codes[0]!
    const canonical = code.replace("-", "")
    expect(normalizeRecoveryCode(code)).toBe(canonical)
    expect(normalizeRecoveryCode(` ${code.toUpperCase()} `)).toBe(canonical)
    expect(normalizeRecoveryCode("0o1il-abcde")).toBe("00111abcde")
    for (const bad of ["", "abcde", "abcde-abcdeX", "uuuuu-uuuuu", "123456"]) {
      expect(normalizeRecoveryCode(bad)).toBeUndefined()
    }
  })

  it("are stored as an HMAC keyed by the secret and salted with the user", () => {
    const key = Buffer.alloc(32, 1)
    const hash = recoveryCodeHash(key, "ausr_a", "abcdeabcde")
    expect(hash).toMatch(/^[0-9a-f]{64}$/)
    expect(hash).not.toContain("abcde")
    expect(recoveryCodeHash(key, "ausr_b", "abcdeabcde")).not.toBe(hash)
    expect(recoveryCodeHash(Buffer.alloc(32, 2), "ausr_a", "abcdeabcde")).not.toBe(hash)
  })
})

describe("MFA tickets", () => {
  const box = Effect.runSync(
    Effect.provide(SecretBox, SecretBox.Default.pipe(Layer.provide(AuthConfig.layer({ secret: "s".repeat(40) })))),
  )
  const app = { id: newId.app() } as M.App
  const env = { id: newId.environment() } as M.Environment
  const client = { app, env, ip: null, userAgent: null }
  const claims = {
    userId: newId.user(),
    appId: app.id,
    envId: env.id,
    method: "password",
    purpose: "challenge" as const,
    expiresAt: 2_000_000,
  }

  it("open only when genuine, unexpired, and for the same app and environment; every ticket is distinct", () => {
    const ticket = sealTicket(box, claims)
    expect(sealTicket(box, claims)).not.toBe(ticket)
    expect(Option.getOrThrow(openTicket(box, ticket, client, 1_000_000))).toMatchObject(claims)
    expect(openTicket(box, ticket, client, 2_000_000)).toEqual(Option.none())
    expect(openTicket(box, ticket, { ...client, app: { id: newId.app() } as M.App }, 0)).toEqual(Option.none())
    expect(openTicket(box, ticket, { ...client, env: { id: newId.environment() } as M.Environment }, 0)).toEqual(
      Option.none(),
    )
    const [version, iv, body, tag] = ticket.split(".")
    // The first character: all six of its bits are ciphertext (the last one's low bits can be padding).
    const flipped = `${body!.startsWith("A") ? "B" : "A"}${body!.slice(1)}`
    for (const forged of [`${version}.${iv}.${flipped}.${tag}`, ticket.slice(0, -3), "v1.x.y.z", "", "garbage"]) {
      expect(openTicket(box, forged, client, 0)).toEqual(Option.none())
    }
    // The ticket does not show what it carries.
    expect(ticket).not.toContain(claims.userId)
  })
})
