/**
 * The standalone server's mailer without SMTP (development): each mail is shown instead of sent, so the code or link
 * in it can be used. On a terminal it is printed as the mail reads; otherwise it is one log line (logfmt or JSON)
 * whose annotations hold its fields.
 */
import { Effect, Layer } from "effect"
import { Mailer } from "../services/mail/index.js"

const rule = (title: string) => `── ${title} ${"─".repeat(Math.max(0, 76 - title.length))}`

export const devMailer = (terminal: boolean): Layer.Layer<Mailer> =>
  Layer.succeed(Mailer, {
    send: (mail) =>
      terminal
        ? Effect.sync(() => {
            process.stdout.write(
              [
                "",
                rule("mail, not sent: no AUTHSOME_SMTP_URL"),
                `To: ${mail.to}`,
                `Subject: ${mail.subject}`,
                "",
                mail.text.trimEnd(),
                rule("end of mail"),
                "",
                "",
              ].join("\n"),
            )
          })
        : Effect.logInfo("mail not sent: no AUTHSOME_SMTP_URL").pipe(
            Effect.annotateLogs({ mail_to: mail.to, mail_subject: mail.subject, mail_text: mail.text }),
          ),
  })
