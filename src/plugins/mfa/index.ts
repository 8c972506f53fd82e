/**
 * `authsome/mfa`: the mfa plugin's tables and store (its routes and services come with the sign-in-methods work).
 */
export { mfaMigrations } from "./migrations.js"
export {
  MfaEnrollment,
  MfaEnrollmentId,
  MfaRecoveryCode,
  MfaStore,
  type MfaStoreShape,
  RecoveryCodeId,
} from "./store.js"
export { MfaStoreLive } from "./stores.js"
