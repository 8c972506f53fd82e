/** A real SMTP server for tests (smtp-server): collects what it receives; can be stopped and restarted on its port. */
import { createServer } from "node:net"
import { type ParsedMail, simpleParser } from "mailparser"
import { SMTPServer } from "smtp-server"

export interface ReceivedMail {
  readonly to: ReadonlyArray<string>
  readonly subject: string
  readonly text: string
  readonly messageId?: string | undefined
}

export const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      probe.close(() => resolve(port))
    })
  })

export class TestSmtp {
  readonly received: Array<ReceivedMail> = []
  private server: SMTPServer | undefined

  private constructor(readonly port: number) {}

  /** A server on a free port; started unless `started` is false. */
  static async create(started = true) {
    const smtp = new TestSmtp(await freePort())
    if (started) await smtp.start()
    return smtp
  }

  get url() {
    return `smtp://127.0.0.1:${this.port}`
  }

  start() {
    const server = new SMTPServer({
      logger: false,
      disabledCommands: ["STARTTLS", "AUTH"],
      closeTimeout: 100,
      disableReverseLookup: true,
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then((parsed: ParsedMail) => {
            this.received.push({
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: parsed.subject ?? "",
              text: parsed.text ?? "",
              messageId: parsed.messageId,
            })
            callback()
          })
          .catch((error: Error) => callback(error))
      },
    })
    this.server = server
    return new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", () => resolve()))
  }

  stop() {
    const server = this.server
    this.server = undefined
    return new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  }

  /** Waits for a mail to `to` matching `subject` (a regex), up to `timeoutMs`. */
  async waitFor(to: string, subject: RegExp, timeoutMs = 10_000): Promise<ReceivedMail> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const mail = this.received.find((m) => m.to.includes(to) && subject.test(m.subject))
      if (mail) return mail
      if (Date.now() > deadline) throw new Error(`no mail to ${to} matching ${subject} within ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, 25))
    }
  }
}

/** The 6-digit code and the link token of a verification mail. */
export const verificationOf = (mail: ReceivedMail) => ({
  code: /\b(\d{6})\b/.exec(mail.text)?.[1] ?? "",
  token: /[?&]token=([A-Za-z0-9_%-]+)/.exec(mail.text)?.[1] ?? "",
})
