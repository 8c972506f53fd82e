/** Mail: templates, the outbox queue, its background dispatcher, and the SMTP / log mailers. */
export {
  defaultMailDispatcherSettings,
  dispatchDueMail,
  MailDispatcher,
  type MailDispatcherSettings,
  retryDelay,
} from "./dispatcher.js"
export { InvalidSmtpUrl, MailDeliveryError } from "./errors.js"
export { defaultMailFrom, Mailer, type MailerShape, type OutgoingMail, type SmtpOptions } from "./mailer.js"
export { type EnqueueMailInput, MailQueue, MailWakeUp } from "./queue.js"
export {
  type AccountExistsEmailInput,
  accountExistsEmail,
  escapeHtml,
  formatExpiry,
  type InvitationEmailInput,
  invitationEmail,
  type PasswordResetEmailInput,
  passwordResetEmail,
  type RenderedMail,
  type VerificationEmailInput,
  verificationEmail,
} from "./templates.js"
