import { Context, Duration, Effect, Layer, Redacted } from "effect"
import type { NodemailerError } from "nodemailer"
import { InvalidSmtpUrl, MailDeliveryError } from "./errors.js"

/** One mail, ready to go: the sender is the mailer's `from`. */
export interface OutgoingMail {
  readonly to: string
  readonly subject: string
  readonly text: string
  readonly html?: string | undefined
  /**
   * The Message-ID, stable per outbox row: a mail sent again (its send recorded too late, e.g. across a failover)
   * carries the same one, so the copy can be told apart.
   */
  readonly messageId?: string | undefined
}

export interface MailerShape {
  readonly send: (mail: OutgoingMail) => Effect.Effect<void, MailDeliveryError>
}

/** Pool and timeout settings of the SMTP mailer; the defaults suit a real mail server. */
export interface SmtpOptions {
  /** Parallel SMTP connections of the pool (default 5). */
  readonly maxConnections?: number
  /** Time to open the TCP/TLS connection (default 10 s). */
  readonly connectionTimeout?: Duration.DurationInput
  /** Time to wait for the server's greeting (default 10 s). */
  readonly greetingTimeout?: Duration.DurationInput
  /** Longest silence on an open connection (default 60 s). */
  readonly socketTimeout?: Duration.DurationInput
}

const defaultSmtpOptions = {
  maxConnections: 5,
  connectionTimeout: Duration.seconds(10),
  greetingTimeout: Duration.seconds(10),
  socketTimeout: Duration.seconds(60),
} as const

/** Used when `AUTHSOME_MAIL_FROM` is not set. */
export const defaultMailFrom = "no-reply@localhost"

/** Sends mail: over SMTP (`Mailer.smtp`) or, in development, into the log (`Mailer.log`). */
export class Mailer extends Context.Tag("authsome/Mailer")<Mailer, MailerShape>() {
  /**
   * Sends through one pooled SMTP transport, closed when the layer's scope closes.
   * `url` is `smtp://user:pass@host:port` (STARTTLS when the server offers it) or `smtps://...` (TLS from the start);
   * nodemailer's query options such as `?tls.rejectUnauthorized=false` are honoured.
   */
  static smtp(
    url: Redacted.Redacted<string>,
    from: string,
    options: SmtpOptions = {},
  ): Layer.Layer<Mailer, InvalidSmtpUrl> {
    return Layer.scoped(Mailer, makeSmtpMailer(url, from, options))
  }

  /**
   * The development mailer: writes each mail, body included, through Effect's logger instead of sending it.
   * Showing the code or link is the point (there is no inbox in development), so never use it in production.
   */
  static readonly log: Layer.Layer<Mailer> = Layer.succeed(Mailer, {
    send: (mail) =>
      Effect.logInfo(
        [
          "Mail (not sent: no SMTP server configured)",
          `To: ${mail.to}`,
          `Subject: ${mail.subject}`,
          "",
          mail.text,
        ].join("\n"),
      ).pipe(Effect.annotateLogs({ mailer: "log", mailTo: mail.to })),
  })
}

const makeSmtpMailer = (url: Redacted.Redacted<string>, from: string, options: SmtpOptions) =>
  Effect.gen(function* () {
    const secrets = yield* validateSmtpUrl(url)
    // Loaded here, not at the module's import: a server without SMTP never parses it (35 ms of every start-up).
    const { createTransport } = yield* Effect.promise(() => import("nodemailer"))
    const transport = yield* Effect.acquireRelease(
      Effect.sync(() =>
        createTransport(
          {
            url: Redacted.value(url),
            pool: true,
            maxConnections: options.maxConnections ?? defaultSmtpOptions.maxConnections,
            connectionTimeout: millis(options.connectionTimeout ?? defaultSmtpOptions.connectionTimeout),
            greetingTimeout: millis(options.greetingTimeout ?? defaultSmtpOptions.greetingTimeout),
            socketTimeout: millis(options.socketTimeout ?? defaultSmtpOptions.socketTimeout),
            // nodemailer's own logger would print the SMTP conversation, AUTH included
            logger: false,
          },
          { from },
        ),
      ),
      (transport) => Effect.sync(() => transport.close()),
    )
    return Mailer.of({
      send: (mail) =>
        Effect.tryPromise({
          try: () => {
            // One recipient, exactly the stored address: as an object it is never parsed as an address list, and
            // the explicit envelope makes it the only RCPT TO whatever the header would say.
            const recipient = { name: "", address: mail.to }
            return transport.sendMail({
              to: recipient,
              envelope: { from, to: [recipient] },
              subject: mail.subject,
              text: mail.text,
              ...(mail.html === undefined ? {} : { html: mail.html }),
              ...(mail.messageId === undefined ? {} : { messageId: mail.messageId }),
            })
          },
          catch: (error) => toDeliveryError(error, secrets),
        }).pipe(Effect.asVoid, Effect.withSpan("Mailer.send")),
    })
  })

const millis = (d: Duration.DurationInput) => Duration.toMillis(Duration.decode(d))

/** Checks the URL's shape and returns the strings that must never appear in an error (the URL and its password). */
const validateSmtpUrl = (url: Redacted.Redacted<string>): Effect.Effect<ReadonlyArray<string>, InvalidSmtpUrl> =>
  Effect.suspend(() => {
    const raw = Redacted.value(url)
    let parsed: URL
    try {
      parsed = new URL(raw)
    } catch {
      return Effect.fail(new InvalidSmtpUrl({ message: "the SMTP URL is not a valid URL" }))
    }
    if (parsed.protocol !== "smtp:" && parsed.protocol !== "smtps:") {
      return Effect.fail(new InvalidSmtpUrl({ message: "the SMTP URL must start with smtp:// or smtps://" }))
    }
    if (parsed.hostname === "") {
      return Effect.fail(new InvalidSmtpUrl({ message: "the SMTP URL has no host" }))
    }
    const password = parsed.password
    return Effect.succeed([raw, password, safeDecode(password)].filter((s) => s.length > 0))
  })

const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

const maxErrorLength = 500

/** Turns a nodemailer failure into a `MailDeliveryError` whose message holds no URL or password. */
const toDeliveryError = (error: unknown, secrets: ReadonlyArray<string>): MailDeliveryError => {
  const e = (typeof error === "object" && error !== null ? error : {}) as Partial<NodemailerError>
  const code = typeof e.code === "string" ? e.code : undefined
  const detail = typeof e.message === "string" && e.message !== "" ? e.message : String(error)
  let message = code === undefined ? `SMTP send failed: ${detail}` : `SMTP send failed (${code}): ${detail}`
  for (const secret of secrets) message = message.split(secret).join("<redacted>")
  // belt and braces: any `scheme://user:pass@` that slipped through (e.g. a percent-encoding variant)
  message = message.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, "$1<redacted>@")
  if (message.length > maxErrorLength) message = `${message.slice(0, maxErrorLength)}...`
  // Only a refusal of this message or recipient is final; EAUTH, connection errors etc. are retried.
  const permanent = e.permanent === true && (code === "EENVELOPE" || code === "EMESSAGE")
  return new MailDeliveryError({ message, permanent })
}
