/**
 * Password policy: length bounds counted in Unicode code points, optional character-class rules, and a rejection of
 * the 10,000 most common passwords (`data/common-passwords.txt`, see `data/README.md`).
 */
import { Effect, Redacted } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { WeakPassword } from "../../domain/errors.js"

export interface PasswordPolicy {
  /** Minimum length in Unicode code points (so "пароль12" is 8, and 😀 is 1). Default 8. */
  readonly minLength: number
  /** Maximum length in Unicode code points. Default 256. */
  readonly maxLength: number
  /** Require an uppercase letter (`\p{Lu}` or `\p{Lt}`, any script). Default false. */
  readonly requireUppercase: boolean
  /** Require a lowercase letter (`\p{Ll}`, any script). Default false. */
  readonly requireLowercase: boolean
  /** Require a decimal digit (`\p{Nd}`, any script). Default false. */
  readonly requireDigit: boolean
  /**
   * Require a special character: anything that is not a letter or a digit (nor a combining mark or other numeric
   * character), e.g. punctuation, symbols, spaces, emoji. Default false.
   */
  readonly requireSpecial: boolean
  /** Reject the 10,000 most common passwords, compared case-insensitively. Default true. */
  readonly rejectCommon: boolean
  /**
   * Reject a password equal to the user's email address (case-insensitive, surrounding spaces ignored) when
   * `checkPassword` is given the email in its context. Default true.
   */
  readonly rejectEmail: boolean
}

export const defaultPasswordPolicy: PasswordPolicy = {
  minLength: 8,
  maxLength: 256,
  requireUppercase: false,
  requireLowercase: false,
  requireDigit: false,
  requireSpecial: false,
  rejectCommon: true,
  rejectEmail: true,
}

/** A policy from partial settings, the rest from {@link defaultPasswordPolicy}. */
export const makePasswordPolicy = (settings: Partial<PasswordPolicy> = {}): PasswordPolicy => ({
  ...defaultPasswordPolicy,
  ...settings,
})

/** What the policy may compare the password with. */
export interface PasswordContext {
  /** The user's email: with `rejectEmail`, the password may not equal it. */
  readonly email?: string | undefined
}

/** Length in Unicode code points (a surrogate pair counts once). */
export const passwordLength = (password: string): number => {
  let n = 0
  for (const _ of password) n++
  return n
}

const UPPER = /[\p{Lu}\p{Lt}]/u
const LOWER = /\p{Ll}/u
const DIGIT = /\p{Nd}/u
const SPECIAL = /[^\p{L}\p{M}\p{N}]/u

/**
 * `data/common-passwords.txt` at the package root, found by walking up from this module: it sits three levels up
 * from `src/plugins/password/` and `dist/plugins/password/`, one from the bundled `dist/authsome.cjs`.
 */
const commonPasswordsPath = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, "data", "common-passwords.txt")
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) throw new Error("data/common-passwords.txt not found above the authsome package")
    dir = parent
  }
}

let commonPasswords: ReadonlySet<string> | undefined

/**
 * The common-password list as a set of lower-cased entries, read once on first use. A missing data file is a
 * packaging bug and throws.
 */
export const commonPasswordSet = (): ReadonlySet<string> => {
  if (commonPasswords === undefined) {
    const entries = readFileSync(commonPasswordsPath(), "utf8")
      .split("\n")
      .map((line) => line.trim().toLowerCase())
      .filter((line) => line.length > 0)
    commonPasswords = new Set(entries)
  }
  return commonPasswords
}

/** Whether the password is on the common-password list (case-insensitive). */
export const isCommonPassword = (password: string): boolean => commonPasswordSet().has(password.toLowerCase())

const weak = (message: string) => Effect.fail(new WeakPassword({ message }))

/**
 * Checks a password against the policy. Fails with `WeakPassword` whose message names the first unmet rule, in
 * this order: minimum length, maximum length, uppercase, lowercase, digit, special character, equal to the email,
 * common password. The message never contains the password.
 */
export const checkPassword = (
  password: Redacted.Redacted<string>,
  policy: PasswordPolicy = defaultPasswordPolicy,
  context: PasswordContext = {},
): Effect.Effect<void, WeakPassword> =>
  Effect.suspend(() => {
    const plain = Redacted.value(password)
    const length = passwordLength(plain)
    if (length < policy.minLength) return weak(`password must be at least ${policy.minLength} characters`)
    if (length > policy.maxLength) return weak(`password must be at most ${policy.maxLength} characters`)
    if (policy.requireUppercase && !UPPER.test(plain)) return weak("password must contain an uppercase letter")
    if (policy.requireLowercase && !LOWER.test(plain)) return weak("password must contain a lowercase letter")
    if (policy.requireDigit && !DIGIT.test(plain)) return weak("password must contain a digit")
    if (policy.requireSpecial && !SPECIAL.test(plain)) return weak("password must contain a special character")
    if (
      policy.rejectEmail &&
      context.email !== undefined &&
      context.email.trim().length > 0 &&
      plain.trim().toLowerCase() === context.email.trim().toLowerCase()
    ) {
      return weak("password must not be the email address")
    }
    if (policy.rejectCommon && isCommonPassword(plain)) return weak("password is too common")
    return Effect.void
  })
