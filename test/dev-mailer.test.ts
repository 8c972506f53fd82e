/** The standalone server's development mailer: a mail reads as a mail on a terminal, and is one log line otherwise. */
import { Context, Effect, Layer, Logger } from "effect"
import { describe, expect, it, vi } from "vitest"
import { devMailer } from "../src/server/dev-mailer.js"
import { Mailer } from "../src/services/mail/index.js"

const mail = {
  to: "ada@example.com",
  subject: "Verify your email",
  text: "Your code is 123456\n\nOr open http://x/verify-email?token=abc",
}

const send = (terminal: boolean, lines: Array<string>) =>
  Effect.runPromise(
    Effect.flatMap(Layer.build(devMailer(terminal)), (context) => Context.get(context, Mailer).send(mail)).pipe(
      Effect.scoped,
      Effect.provide(
        Logger.replace(
          Logger.defaultLogger,
          Logger.map(Logger.logfmtLogger, (line) => lines.push(line)),
        ),
      ),
    ),
  )

describe("dev mailer", () => {
  it("on a terminal: the mail as it reads, its link on a line of its own", async () => {
    const written: Array<string> = []
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      written.push(String(chunk))
      return true
    })
    try {
      await send(true, [])
    } finally {
      spy.mockRestore()
    }
    const text = written.join("")
    expect(text).toContain("To: ada@example.com\nSubject: Verify your email\n\nYour code is 123456")
    expect(text.split("\n")).toContain("Or open http://x/verify-email?token=abc")
  })

  it("otherwise: one log line holding the mail's fields", async () => {
    const lines: Array<string> = []
    await send(false, lines)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain("mail_to=ada@example.com")
    expect(lines[0]).toContain("token=abc")
  })
})
