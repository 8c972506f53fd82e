/** Directories for the embedded database and the server's kept files, made safely and described in one line. */
import { mkdirSync } from "node:fs"
import { join, resolve, sep } from "node:path"

/** What went wrong with a path, in a few words (for one-line start-up errors). */
export const describeFileError = (error: unknown) => {
  const code = (error as { code?: unknown }).code
  return code === "EACCES" || code === "EPERM"
    ? "permission denied"
    : code === "EROFS"
      ? "read-only file system"
      : code === "ENOTDIR"
        ? "a part of the path is not a directory"
        : code === "ENOENT"
          ? "a parent directory does not exist and cannot be made"
          : error instanceof Error
            ? error.message
            : String(error)
}

/**
 * `mkdir -p`, one level at a time: Node's own `recursive` loops forever (and ignores signals) when a parent cannot
 * be made on a special file system such as /proc.
 */
export const makeDirectories = (dir: string) => {
  const full = resolve(dir)
  const parts = full.split(sep).filter(Boolean)
  let current = full.startsWith(sep) ? sep : ""
  for (const part of parts) {
    current = join(current, part)
    try {
      mkdirSync(current)
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error
    }
  }
}
