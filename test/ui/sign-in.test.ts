/**
 * The hosted pages in Chromium, end to end on PostgreSQL with a real SMTP server: every flow a person uses, each
 * page checked with axe-core (no serious or critical violation), for its size, and for CSP violations.
 */
import * as OTPAuth from "otpauth"
import type { Browser, BrowserContext, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Client, signUpAndSignIn, strongPassword, uniqueEmail } from "../support/http.js"
import {
  accessibilityProblems,
  hasChromium,
  launch,
  linkIn,
  openPage,
  pageBytes,
  screenshot,
  startUiServer,
  type UiServer,
} from "./browser.js"

describe.skipIf(!hasChromium)("hosted sign-in and account pages in Chromium", () => {
  let server: UiServer
  let browser: Browser
  const contexts: Array<BrowserContext> = []

  beforeAll(async () => {
    ;[server, browser] = await Promise.all([startUiServer(), launch()])
  }, 60_000)

  afterAll(async () => {
    for (const context of contexts) await context.close()
    await browser?.close()
    await server?.close()
  })

  const open = async () => {
    const context = await browser.newContext()
    contexts.push(context)
    return { context, ...(await openPage(context)) }
  }

  /** The page passes axe-core and stays under 100 KB. */
  const checkPage = async (page: Page) => {
    expect(await accessibilityProblems(page), page.url()).toEqual([])
    expect(await pageBytes(page)).toBeLessThan(100_000)
  }

  const heading = (page: Page, name: string) =>
    expect.poll(() => page.getByRole("heading", { name, exact: true }).count()).toBe(1)

  /** A verified user made through the API (the browser tests start from there). */
  const existingUser = async (label: string) => {
    const email = uniqueEmail(label)
    const client = new Client(server.base)
    const tokens = await signUpAndSignIn(server, client, email)
    return { email, client, token: tokens.session_token as string }
  }

  const signIn = async (page: Page, email: string, password = strongPassword) => {
    await page.goto(`${server.pages}/sign-in`)
    await page.getByRole("form", { name: "Sign in" }).getByLabel("Email").fill(email)
    await page.getByLabel("Password").fill(password)
    await page.getByRole("button", { name: "Sign in", exact: true }).click()
  }

  it("sign-up → the mailed link → confirm → signed in on the account page", async () => {
    const { page, problems } = await open()
    const email = uniqueEmail("ui-signup")
    await page.goto(`${server.pages}/`)
    expect(page.url()).toBe(`${server.pages}/sign-in`)
    await checkPage(page)
    await screenshot(page, "sign-in")
    await page.getByRole("link", { name: "Create an account" }).click()
    await checkPage(page)
    await page.getByLabel("Email").fill(email)
    await page.getByLabel("Password").fill(strongPassword)
    await page.getByLabel("First name (optional)").fill("Ada")
    await screenshot(page, "sign-up")
    await page.getByRole("button", { name: "Create an account" }).click()
    await heading(page, "Verify your email")
    await checkPage(page)
    await screenshot(page, "verify-email")

    const mail = await server.smtp.waitFor(email, /verif/i)
    await page.goto(linkIn(mail.text))
    await checkPage(page)
    await page.getByRole("button", { name: "Confirm my email" }).click()
    expect(page.url()).toBe(`${server.pages}/account`)
    await heading(page, "Your account")
    expect(await page.getByText(email).count()).toBeGreaterThan(0)
    await checkPage(page)
    await screenshot(page, "account")
    expect(problems).toEqual([])
  })

  it("a wrong password is announced; keyboard only: Tab to each field, Enter signs in", async () => {
    const { email } = await existingUser("ui-keys")
    const { page, problems } = await open()
    await page.goto(`${server.pages}/sign-in`)
    // The email field has the focus on arrival; Tab goes on to the password, Enter submits.
    const focused = () => page.evaluate(() => document.activeElement?.id)
    expect(await focused()).toBe("f-email")
    await page.keyboard.type(email)
    await page.keyboard.press("Tab")
    expect(await focused()).toBe("f-password")
    await page.keyboard.type("not the password")
    await page.keyboard.press("Enter")
    await expect.poll(() => page.getByRole("alert").first().textContent()).toBe("Wrong email or password.")
    expect(await page.getByLabel("Password").getAttribute("aria-invalid")).toBe("true")
    await checkPage(page)
    // The address is kept and focused again.
    expect(await focused()).toBe("f-email")
    expect(await page.getByRole("form", { name: "Sign in" }).getByLabel("Email").inputValue()).toBe(email)
    await page.keyboard.press("Tab")
    expect(await focused()).toBe("f-password")
    await page.keyboard.type(strongPassword)
    await page.keyboard.press("Enter")
    await heading(page, "Your account")
    expect(problems).toEqual([])
  })

  it("forgot password → the mailed reset link → new password → sign in with it", async () => {
    const { email } = await existingUser("ui-reset")
    const { page, problems } = await open()
    await page.goto(`${server.pages}/sign-in`)
    await page.getByRole("link", { name: "Forgot your password?" }).click()
    await checkPage(page)
    await page.getByLabel("Email").fill(email)
    await page.getByRole("button", { name: "Send the link" }).click()
    await expect.poll(() => page.getByRole("status").count()).toBe(1)
    const mail = await server.smtp.waitFor(email, /reset|password/i)
    await page.goto(linkIn(mail.text))
    await heading(page, "Choose a new password")
    await checkPage(page)
    await screenshot(page, "reset-password")
    const newPassword = "a brand new passphrase for ui"
    await page.getByLabel("New password").fill(newPassword)
    await page.getByRole("button", { name: "Set the new password" }).click()
    await expect.poll(() => page.getByRole("status").textContent()).toContain("Your password was changed")
    await signIn(page, email, newPassword)
    await heading(page, "Your account")
    expect(problems).toEqual([])
  })

  it("TOTP enrolment from the secret shown on the page, then a sign-in with a code", async () => {
    const { email } = await existingUser("ui-totp")
    const { page, problems } = await open()
    await signIn(page, email)
    await heading(page, "Your account")
    await page.getByRole("button", { name: "Set up" }).click()
    await heading(page, "Set up two-step verification")
    expect(await page.locator(".qr svg").count()).toBe(1)
    await checkPage(page)
    await screenshot(page, "totp-setup")
    const secret = (await page.locator("#totp-secret").textContent())!.trim()
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 })
    await page.getByRole("textbox", { name: "Confirm with a code from the app" }).fill(totp.generate())
    await page.getByRole("button", { name: "Verify" }).click()
    await heading(page, "Recovery codes")
    expect(await page.locator("#recovery-codes li").count()).toBe(10)
    await checkPage(page)

    await page.getByRole("button", { name: "Sign out", exact: true }).click()
    await signIn(page, email)
    await heading(page, "Two-step verification")
    await checkPage(page)
    await screenshot(page, "mfa-challenge")
    // The enrolment's code was used once; the next step's code is within the accepted window.
    await page
      .getByRole("textbox", { name: "Authentication or recovery code" })
      .fill(totp.generate({ timestamp: Date.now() + 30_000 }))
    await page.getByRole("button", { name: "Verify" }).click()
    await heading(page, "Your account")
    expect(problems).toEqual([])
  })

  it("a passkey registered on the account page with Chromium's virtual authenticator, then used to sign in", async () => {
    const { email } = await existingUser("ui-passkey")
    const { page, problems } = await open()
    const cdp = await page.context().newCDPSession(page)
    await cdp.send("WebAuthn.enable")
    await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    })
    await signIn(page, email)
    await heading(page, "Your account")
    await page.getByLabel("Passkey name (optional)").fill("Virtual key")
    await page.getByRole("button", { name: "Add a passkey" }).click()
    await expect.poll(() => page.url()).toContain("done=passkey")
    await expect.poll(() => page.getByText("Virtual key").count()).toBe(1)

    await page.getByRole("button", { name: "Sign out", exact: true }).click()
    await heading(page, `Sign in to ${"default"}`)
    await page.getByRole("button", { name: "Sign in with a passkey" }).click()
    await expect.poll(() => page.url()).toBe(`${server.pages}/account`)
    await heading(page, "Your account")
    expect(problems).toEqual([])
  })

  it("an organization made and an invitation sent on the account page; accepted from its mail after signing in", async () => {
    const owner = await existingUser("ui-owner")
    const { email } = await existingUser("ui-invitee")
    const admin = await open()
    await signIn(admin.page, owner.email)
    await heading(admin.page, "Your account")
    const create = admin.page.getByRole("form", { name: "Create an organization" })
    await create.getByLabel("Name").fill("Acme Rockets")
    await create.getByLabel("Slug").fill(`acme-${Date.now()}`)
    await create.getByRole("button", { name: "Create" }).click()
    await expect.poll(() => admin.page.getByText("Acme Rockets").count()).toBe(1)
    const invite = admin.page.getByRole("form", { name: "Invite · Acme Rockets" })
    await invite.getByLabel("Invite (Email)").fill(email)
    await invite.getByRole("button", { name: "Invite" }).click()
    await expect.poll(() => admin.page.getByText("Invitation sent.").count()).toBe(1)
    expect(await admin.page.getByText(email).count()).toBe(1)
    await checkPage(admin.page)
    const mail = await server.smtp.waitFor(email, /invit/i)

    const { page, problems } = await open()
    await page.goto(linkIn(mail.text))
    expect(page.url()).toContain("/sign-in?redirect_to=")
    await page.getByRole("form", { name: "Sign in" }).getByLabel("Email").fill(email)
    await page.getByLabel("Password").fill(strongPassword)
    await page.getByRole("button", { name: "Sign in", exact: true }).click()
    await heading(page, "Join an organization")
    await checkPage(page)
    await page.getByRole("button", { name: "Accept" }).click()
    await expect.poll(() => page.getByText("You joined the organization.").count()).toBe(1)
    expect(await page.getByText("Acme Rockets").count()).toBe(1)
    expect(problems).toEqual([])
    expect(admin.problems).toEqual([])
  })

  it("a magic link: asked for on the sign-in page, opened from the mail, continue → signed in", async () => {
    const { email } = await existingUser("ui-magic")
    const { page, problems } = await open()
    await page.goto(`${server.pages}/sign-in`)
    await page.getByRole("form", { name: "Email me a sign-in link" }).getByLabel("Email").fill(email)
    await page.getByRole("button", { name: "Email me a sign-in link" }).click()
    await expect.poll(() => page.getByRole("status").textContent()).toContain("sign-in link is on its way")
    const mail = await server.smtp.waitFor(email, /sign.?in|link/i)
    await page.goto(linkIn(mail.text))
    await checkPage(page)
    await page.getByRole("button", { name: "Continue" }).click()
    await expect.poll(() => page.url()).toBe(`${server.pages}/account`)
    expect(problems).toEqual([])
  })

  it("the policy refuses an inline script the page did not make, and the test sees the violation", async () => {
    const { page, problems } = await open()
    await page.goto(`${server.pages}/sign-in`)
    await page.evaluate(() => {
      const script = document.createElement("script")
      script.textContent = "document.title = 'injected'"
      document.body.appendChild(script)
    })
    await expect.poll(() => problems.length).toBe(1)
    expect(problems[0]).toMatch(/Content Security Policy/)
    expect(await page.title()).not.toBe("injected")
  })

  it("pages refuse a form without its CSRF token, and a redirect_to to another site", async () => {
    const response = await fetch(`${server.pages}/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: server.pages },
      body: "email=a%40example.com&password=x",
    })
    expect(response.status).toBe(403)
    expect(response.headers.get("content-security-policy")).toMatch(/script-src 'nonce-[^']+'/)

    const { email } = await existingUser("ui-redirect")
    const { page } = await open()
    await page.goto(`${server.pages}/sign-in?redirect_to=${encodeURIComponent("//evil.example/x")}`)
    await page.getByRole("form", { name: "Sign in" }).getByLabel("Email").fill(email)
    await page.getByLabel("Password").fill(strongPassword)
    await page.getByRole("button", { name: "Sign in", exact: true }).click()
    await expect.poll(() => page.url()).toBe(`${server.pages}/account`)
  })
})
