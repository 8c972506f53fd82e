/**
 * The magic-link mails: the link itself, and the notice sent instead to an address that has no account (when links
 * may not create accounts), so that both kinds of request cost the same work and tell the requester nothing.
 */
import { escapeHtml, formatExpiry, type RenderedMail } from "../../services/mail/index.js"

const page = (title: string, paragraphs: ReadonlyArray<string>) => `<!doctype html>
<html>
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#222222">
${paragraphs.map((paragraph) => `<p>${paragraph}</p>`).join("\n")}
</body>
</html>
`

export const magicLinkEmail = (input: {
  readonly appName: string
  readonly link: string
  readonly expiresInMinutes: number
}): RenderedMail => {
  const expiry = formatExpiry(input.expiresInMinutes)
  const subject = `Your sign-in link for ${input.appName}`
  const text = [
    `Open this link to sign in to ${input.appName}:`,
    input.link,
    "",
    `The link expires in ${expiry} and works once.`,
    "If you did not ask for it, ignore this email.",
  ].join("\n")
  const html = page(subject, [
    `Open this link to sign in to <strong>${escapeHtml(input.appName)}</strong>:`,
    /^https?:\/\//i.test(input.link)
      ? `<a href="${escapeHtml(input.link)}">${escapeHtml(input.link)}</a>`
      : escapeHtml(input.link),
    `The link expires in ${escapeHtml(expiry)} and works once.`,
    `<span style="font-size:13px;color:#555555">If you did not ask for it, ignore this email.</span>`,
  ])
  return { subject, text, html }
}

export const noAccountEmail = (input: { readonly appName: string }): RenderedMail => {
  const subject = `Sign-in attempt at ${input.appName}`
  const text = [
    `Someone asked for a sign-in link to ${input.appName} for this address, but no account uses it.`,
    "If it was you, sign up first. If not, ignore this email.",
  ].join("\n")
  const html = page(subject, [
    `Someone asked for a sign-in link to <strong>${escapeHtml(input.appName)}</strong> for this address, but no ` +
      "account uses it.",
    "If it was you, sign up first. If not, ignore this email.",
  ])
  return { subject, text, html }
}
