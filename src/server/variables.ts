/** Every environment variable the standalone server reads, for `authsome --help` (the README's table says the same). */
export interface Variable {
  readonly name: string
  readonly default: string
  readonly description: string
}

export const variables: ReadonlyArray<Variable> = [
  {
    name: "DATABASE_URL",
    default: "embedded database",
    description: "PostgreSQL, postgres://user:password@host:5432/db (sslmode, sslrootcert, sslcert, sslkey as libpq)",
  },
  {
    name: "AUTHSOME_DATABASE_REPLICA_URL",
    default: "none",
    description: "a streaming replica for lag-tolerant reads (lists, searches, audit, exports); /health shows its lag",
  },
  { name: "AUTHSOME_DATA_DIR", default: "./.authsome/data", description: "the embedded database's directory" },
  { name: "PORT", default: "8080", description: "port to listen on" },
  { name: "HOST", default: "0.0.0.0", description: "address to listen on" },
  { name: "AUTHSOME_BASE_PATH", default: "/v1/auth", description: "path of the JSON API" },
  { name: "AUTHSOME_APP_ID", default: "default", description: "slug of the default app" },
  {
    name: "AUTHSOME_PUBLIC_URL",
    default: "http://localhost:$PORT",
    description: "the server's public origin: mailed links, the CSRF rule's own origin",
  },
  {
    name: "AUTHSOME_SECRET",
    default: "kept in the data directory",
    description: "root secret, 32+ characters (code hashes, encrypted secrets); required with DATABASE_URL",
  },
  { name: "AUTHSOME_TRUSTED_ORIGINS", default: "none", description: "comma-separated origins for CORS and CSRF" },
  {
    name: "AUTHSOME_TRUSTED_PROXIES",
    default: "loopback",
    description: "CIDRs whose X-Forwarded-For/-Proto are believed",
  },
  {
    name: "AUTHSOME_UI",
    default: "on",
    description: "the hosted sign-in, account and admin pages under AUTHSOME_PUBLIC_URL (off: the JSON API only)",
  },
  { name: "AUTHSOME_SMTP_URL", default: "mail to the log", description: "smtp://user:pass@host:port" },
  { name: "AUTHSOME_MAIL_FROM", default: "Authsome <no-reply@localhost>", description: "sender of mails" },
  { name: "AUTHSOME_REQUIRE_EMAIL_VERIFICATION", default: "on", description: "sign-up needs the mailed code" },
  { name: "AUTHSOME_RATE_LIMIT", default: "on", description: "rate limits" },
  { name: "AUTHSOME_LOCKOUT", default: "on", description: "lock an account after failed sign-ins" },
  {
    name: "AUTHSOME_WEBHOOKS_ALLOW_PRIVATE_TARGETS",
    default: "off",
    description: "let webhooks reach loopback and private addresses (development only)",
  },
  { name: "AUTHSOME_TOKEN_TTL", default: "1 hour", description: "session token lifetime (seconds or '1 hour')" },
  { name: "AUTHSOME_REFRESH_TOKEN_TTL", default: "30 days", description: "refresh token lifetime" },
  {
    name: "AUTHSOME_PLUGINS",
    default: "all built-in",
    description: "comma-separated plugins to mount",
  },
  { name: "AUTHSOME_CONFIG", default: "none", description: "JSON file with the rest (plugins, policies)" },
  { name: "AUTHSOME_DB_MAX_CONNECTIONS", default: "25", description: "PostgreSQL pool size" },
  {
    name: "AUTHSOME_DB_POOL_MODE",
    default: "session",
    description: "transaction behind a transaction-mode pooler (PgBouncer): no named prepared statements",
  },
  { name: "AUTHSOME_LOG_LEVEL", default: "info", description: "debug, info, warn or error" },
  { name: "AUTHSOME_LOG_FORMAT", default: "logfmt", description: "logfmt, json or pretty" },
]
