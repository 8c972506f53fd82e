/**
 * TOTP (RFC 6238) as authenticator apps implement it: HMAC-SHA-1, 6 digits, 30-second time steps, and the codes of
 * the steps just before and after the current one accepted for clock drift. Which step a code belongs to is what
 * makes it single-use: the enrollment records the last step accepted.
 */
import * as OTPAuth from "otpauth"

export const totpParameters = { algorithm: "SHA1", digits: 6, period: 30, window: 1 } as const

const { algorithm, period, window } = totpParameters

/** A fresh seed: 160 random bits (the HMAC-SHA-1 key length RFC 4226 recommends), in base32. */
export const newSeed = (): string => new OTPAuth.Secret({ size: 20 }).base32

/** The `otpauth://totp/...` URL an authenticator app takes (usually scanned as a QR code). */
export const otpauthUrl = (seed: string, issuer: string, account: string): string =>
  new OTPAuth.TOTP({
    issuer,
    label: account,
    secret: OTPAuth.Secret.fromBase32(seed),
    algorithm,
    digits: totpParameters.digits,
    period,
  }).toString()

/** The time step of the instant `ms`. */
export const stepAt = (ms: number): number => Math.floor(ms / 1000 / period)

/** The code of time step `step`. */
export const codeAt = (seed: string, step: number, digits: number = totpParameters.digits): string =>
  OTPAuth.HOTP.generate({ secret: OTPAuth.Secret.fromBase32(seed), algorithm, digits, counter: step })

/**
 * The time step `code` belongs to, among the step of `nowMs` and its neighbours (compared in constant time), or
 * `undefined` when it is the code of none of them.
 */
export const matchStep = (
  seed: string,
  code: string,
  nowMs: number,
  digits: number = totpParameters.digits,
): number | undefined => {
  const delta = OTPAuth.TOTP.validate({
    token: code,
    secret: OTPAuth.Secret.fromBase32(seed),
    algorithm,
    digits,
    period,
    timestamp: nowMs,
    window,
  })
  return delta === null ? undefined : stepAt(nowMs) + delta
}

/** Whether `code` has the shape of a TOTP code (as opposed to a recovery code). */
export const isTotpCode = (code: string): boolean => /^\d{6}$/.test(code)
