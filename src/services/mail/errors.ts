import { Data } from "effect"

/**
 * A mail could not be handed to the mail server. `message` never holds the SMTP URL or its credentials, so it can
 * be logged and stored as the notification's `lastError`.
 */
export class MailDeliveryError extends Data.TaggedError("MailDeliveryError")<{
  readonly message: string
  /**
   * The server refused this message or recipient for good (an SMTP 5xx reply to the envelope or the data), so
   * retrying the same mail cannot succeed. Connection and authentication failures are never permanent: they are
   * usually an outage or a configuration being fixed.
   */
  readonly permanent: boolean
}> {}

/** The SMTP URL given to `Mailer.smtp` is not an `smtp://` or `smtps://` URL (the URL itself is not repeated). */
export class InvalidSmtpUrl extends Data.TaggedError("InvalidSmtpUrl")<{ readonly message: string }> {}
