/** The MFA plugin's errors and how they are answered. */
import { Data, Redacted } from "effect"
import { declareError } from "../../plugin/index.js"

/**
 * A sign-in proved the user's identity but not yet a second factor: it completes with `POST /mfa/challenge` and
 * the ticket (or, when the app requires MFA of a user without it, after enrolling with the ticket).
 */
export class MfaRequired extends Data.TaggedError("MfaRequired")<{
  readonly ticket: Redacted.Redacted<string>
  /** What `POST /mfa/challenge` accepts for this user: `totp`, and `recovery_code` while some are unused. */
  readonly availableMethods: ReadonlyArray<string>
  readonly enrollmentRequired: boolean
}> {}

export const mfaErrors = [
  declareError<MfaRequired>("MfaRequired", {
    status: 403,
    type: "mfa_required",
    description:
      "a second factor is due: `mfa_ticket` (5 minutes, 5 tries) and `available_methods`; with " +
      "`enrollment_required: true` the app requires MFA and the user enrolls first (`POST /mfa/challenge/enroll`)",
    message: (error) =>
      error.enrollmentRequired
        ? "multi-factor authentication is required: enroll a second factor to complete sign-in"
        : "multi-factor authentication is required",
    extra: (error) => ({
      mfa_ticket: Redacted.value(error.ticket),
      available_methods: error.availableMethods,
      ...(error.enrollmentRequired ? { enrollment_required: true } : {}),
    }),
  }),
]
