/**
 * The exit codes of the `kv` command, one per class of error. They are part of the command's
 * interface (scripts branch on them) and never change meaning; the README has the same table.
 *
 * @module
 */
import { ErrorCode, isKVError } from '@kv/core'

/** Every exit code `kv` uses. */
export const ExitCode = {
  /** Success. */
  OK: 0,
  /** An unexpected error: a bug or an unclassified system failure. The message says what failed. */
  UNEXPECTED: 1,
  /** Wrong usage: an unknown command, option or backend name, a missing or extra argument. */
  USAGE: 2,
  /** `get`: the key does not exist; `exists`: the key does not exist (prints `false`). */
  NOT_FOUND: 3,
  /** Invalid input or configuration: a bad bucket/key/value, a bad config file, a bad import file. */
  INVALID_INPUT: 4,
  /**
   * The backend cannot be used or failed: not installed, disabled, locked by another process,
   * unreachable, refused credentials, an error on the server's side.
   */
  BACKEND_UNAVAILABLE: 5,
  /** Stored data is corrupt: a value that is not valid LZ4 (`--compressed`), damaged store files. */
  CORRUPT: 6,
  /** `migrate`: the verification at the end found a difference between source and target. */
  VERIFY_FAILED: 7,
  /** stdout was closed by its reader (`kv ls | head`); nothing is printed. 128 + SIGPIPE. */
  BROKEN_PIPE: 141,
  /** Stopped by Ctrl-C (SIGINT) after finishing the writes in flight; re-run to finish. */
  INTERRUPTED: 130,
  /** Stopped by SIGTERM after finishing the writes in flight; re-run to finish. */
  TERMINATED: 143,
} as const

/** One of the values of {@link ExitCode}. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

// Exhaustive on purpose: a code added to @kv/core fails the build here until it is classified.
const byKVErrorCode: Record<ErrorCode, ExitCode> = {
  [ErrorCode.INVALID_ARGUMENT]: ExitCode.INVALID_INPUT,
  [ErrorCode.INVALID_CONFIG]: ExitCode.INVALID_INPUT,
  [ErrorCode.CORRUPT_VALUE]: ExitCode.CORRUPT,
  [ErrorCode.CORRUPT_STORE]: ExitCode.CORRUPT,
  [ErrorCode.LOCKED]: ExitCode.BACKEND_UNAVAILABLE,
  [ErrorCode.BACKEND_UNAVAILABLE]: ExitCode.BACKEND_UNAVAILABLE,
  [ErrorCode.BACKEND_ERROR]: ExitCode.BACKEND_UNAVAILABLE,
  [ErrorCode.BACKEND_DISABLED]: ExitCode.BACKEND_UNAVAILABLE,
  [ErrorCode.NO_BACKEND]: ExitCode.BACKEND_UNAVAILABLE,
  [ErrorCode.DUPLICATE_BACKEND]: ExitCode.BACKEND_UNAVAILABLE,
  [ErrorCode.AUTH_FAILED]: ExitCode.BACKEND_UNAVAILABLE,
  [ErrorCode.NOT_SUPPORTED]: ExitCode.BACKEND_UNAVAILABLE,
  // A store used while not open is a bug in kv, not something the user did.
  [ErrorCode.NOT_OPEN]: ExitCode.UNEXPECTED,
}

/** The exit code for `error`: its own when it is a {@link CliError}, else by its kv error code. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode
  if (isKVError(error)) return byKVErrorCode[error.code] ?? ExitCode.UNEXPECTED
  return ExitCode.UNEXPECTED
}

/**
 * The kv error code to print with `error`: its own, or for a {@link CliError} that explains a kv
 * error (a write of `import` or `migrate` that failed), that error's — the code names the
 * failure whatever the CLI's message adds to it. The chain of CLI errors is followed to its
 * end: a bad bucket on an import line is a CliError (the import) caused by an ExportFormatError
 * (the line) caused by the KV_INVALID_ARGUMENT of @kv/core.
 */
export function kvCodeOf(error: unknown): ErrorCode | undefined {
  let current = error
  // Bounded, in case a cause chain loops.
  for (let depth = 0; depth < 16 && current instanceof CliError; depth++) current = current.cause
  return isKVError(current) ? current.code : undefined
}

/** An error the command reports with a chosen exit code and a message for the user. */
export class CliError extends Error {
  /** The exit code the process ends with. */
  readonly exitCode: ExitCode

  constructor(exitCode: ExitCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.exitCode = exitCode
    this.name = 'CliError'
  }
}
