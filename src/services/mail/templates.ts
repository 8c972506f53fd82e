/**
 * Mail templates: a readable plain-text part and a simple HTML part with the same content. Links are built by the
 * caller (from `AUTHSOME_PUBLIC_URL`) and taken as they are; every interpolated value is HTML-escaped.
 */

/** A rendered mail, ready for `MailQueue.enqueue`. */
export interface RenderedMail {
  readonly subject: string
  readonly text: string
  readonly html: string
}

export interface VerificationEmailInput {
  readonly appName: string
  /** The 6-digit code the user may type instead of following the link. */
  readonly code: string
  readonly link: string
  readonly expiresInMinutes: number
}

export interface AccountExistsEmailInput {
  readonly appName: string
}

export interface PasswordResetEmailInput {
  readonly appName: string
  readonly link: string
  /** Default 60 (the reset token's lifetime). */
  readonly expiresInMinutes?: number
}

export interface InvitationEmailInput {
  readonly appName: string
  readonly organizationName: string
  /** Who invited (a name or an address). */
  readonly inviter: string
  readonly role: string
  readonly link: string
  readonly expiresInDays: number
}

const htmlEscapes: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }

/** Escapes text for HTML element content and double- or single-quoted attributes. */
export const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => htmlEscapes[c] ?? c)

/** "1 minute", "15 minutes", "1 hour", "2 hours", "90 minutes". */
export const formatExpiry = (minutes: number): string => {
  const whole = Math.max(1, Math.round(minutes))
  if (whole % 60 === 0) {
    const hours = whole / 60
    return hours === 1 ? "1 hour" : `${hours} hours`
  }
  return whole === 1 ? "1 minute" : `${whole} minutes`
}

// Only http(s) links become anchors, so a bad value can never turn into a `javascript:` URL in a mail client.
const isWebLink = (link: string) => /^https?:\/\//i.test(link)

const linkHtml = (link: string, label: string) =>
  isWebLink(link)
    ? `<p><a href="${escapeHtml(link)}" style="display:inline-block;padding:10px 16px;background:#2563eb;color:#ffffff;text-decoration:none;border-radius:4px">${escapeHtml(label)}</a></p>
<p style="font-size:13px;color:#555555">If the button does not work, copy this link into your browser:<br>${escapeHtml(link)}</p>`
    : `<p>${escapeHtml(link)}</p>`

const layout = (title: string, body: string) => `<!doctype html>
<html>
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#222222">
${body}
</body>
</html>
`

export const verificationEmail = (input: VerificationEmailInput): RenderedMail => {
  const expiry = formatExpiry(input.expiresInMinutes)
  const subject = `Verify your email for ${input.appName}`
  const text = [
    `Verify your email address for ${input.appName}.`,
    "",
    `Your verification code: ${input.code}`,
    "",
    "Or open this link:",
    input.link,
    "",
    `The code and the link expire in ${expiry}.`,
    "If you did not sign up, you can ignore this email.",
  ].join("\n")
  const html = layout(
    subject,
    `<p>Verify your email address for <strong>${escapeHtml(input.appName)}</strong>.</p>
<p>Your verification code:</p>
<p style="font-size:28px;font-weight:bold;letter-spacing:6px;font-family:Consolas,Menlo,monospace">${escapeHtml(input.code)}</p>
${linkHtml(input.link, "Verify email")}
<p>The code and the link expire in ${escapeHtml(expiry)}.</p>
<p style="font-size:13px;color:#555555">If you did not sign up, you can ignore this email.</p>`,
  )
  return { subject, text, html }
}

export const passwordResetEmail = (input: PasswordResetEmailInput): RenderedMail => {
  const expiry = formatExpiry(input.expiresInMinutes ?? 60)
  const subject = `Reset your ${input.appName} password`
  const text = [
    `Someone asked to reset the password of your ${input.appName} account.`,
    "",
    "To choose a new password, open this link:",
    input.link,
    "",
    `The link expires in ${expiry} and works once.`,
    "If you did not ask for this, ignore this email: your password stays the same.",
  ].join("\n")
  const html = layout(
    subject,
    `<p>Someone asked to reset the password of your <strong>${escapeHtml(input.appName)}</strong> account.</p>
<p>To choose a new password, open this link:</p>
${linkHtml(input.link, "Reset password")}
<p>The link expires in ${escapeHtml(expiry)} and works once.</p>
<p style="font-size:13px;color:#555555">If you did not ask for this, ignore this email: your password stays the same.</p>`,
  )
  return { subject, text, html }
}

export const invitationEmail = (input: InvitationEmailInput): RenderedMail => {
  const days = Math.max(1, Math.round(input.expiresInDays))
  const expiry = days === 1 ? "1 day" : `${days} days`
  const subject = `You are invited to join ${input.organizationName} on ${input.appName}`
  const text = [
    `${input.inviter} invited you to join ${input.organizationName} on ${input.appName} as ${input.role}.`,
    "",
    "To accept, sign in with this email address and open this link:",
    input.link,
    "",
    `The invitation expires in ${expiry} and works once.`,
    "If you did not expect it, you can ignore this email.",
  ].join("\n")
  const html = layout(
    subject,
    `<p>${escapeHtml(input.inviter)} invited you to join <strong>${escapeHtml(input.organizationName)}</strong> on ${escapeHtml(input.appName)} as ${escapeHtml(input.role)}.</p>
<p>To accept, sign in with this email address and open this link:</p>
${linkHtml(input.link, "Accept invitation")}
<p>The invitation expires in ${escapeHtml(expiry)} and works once.</p>
<p style="font-size:13px;color:#555555">If you did not expect it, you can ignore this email.</p>`,
  )
  return { subject, text, html }
}

/**
 * What a sign-up for an address that already has an account mails instead of a code: nothing to confirm, nothing of
 * the account changed.
 */
export const accountExistsEmail = (input: AccountExistsEmailInput): RenderedMail => {
  const subject = `Your ${input.appName} account`
  const text = [
    `Someone asked to create a ${input.appName} account with this email address, which already has one.`,
    "",
    "Nothing was changed. If it was you, sign in with your password, or reset it if you have forgotten it.",
    "If it was not you, you can ignore this email.",
  ].join("\n")
  const html = layout(
    subject,
    `<p>Someone asked to create a <strong>${escapeHtml(input.appName)}</strong> account with this email address, which already has one.</p>
<p>Nothing was changed. If it was you, sign in with your password, or reset it if you have forgotten it.</p>
<p style="font-size:13px;color:#555555">If it was not you, you can ignore this email.</p>`,
  )
  return { subject, text, html }
}
