/**
 * Every error kv throws on purpose is a {@link KVError} with a stable `code`.
 *
 * Match on `code`, not on the class or the message: codes are part of the public API and never
 * change meaning; messages may be reworded. The underlying error, when there is one, is `cause`.
 *
 * @module
 */

/** The stable error codes, one per class below. */
export const ErrorCode = {
  INVALID_ARGUMENT: 'KV_INVALID_ARGUMENT',
  NOT_OPEN: 'KV_NOT_OPEN',
  CORRUPT_VALUE: 'KV_CORRUPT_VALUE',
  CORRUPT_STORE: 'KV_CORRUPT_STORE',
  LOCKED: 'KV_LOCKED',
  BACKEND_UNAVAILABLE: 'KV_BACKEND_UNAVAILABLE',
  BACKEND_ERROR: 'KV_BACKEND_ERROR',
  BACKEND_DISABLED: 'KV_BACKEND_DISABLED',
  NO_BACKEND: 'KV_NO_BACKEND',
  DUPLICATE_BACKEND: 'KV_DUPLICATE_BACKEND',
  INVALID_CONFIG: 'KV_INVALID_CONFIG',
  AUTH_FAILED: 'KV_AUTH_FAILED',
  NOT_SUPPORTED: 'KV_NOT_SUPPORTED',
} as const

/** One of the values of {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/** Options accepted by every kv error constructor. */
export interface KVErrorOptions {
  /** The error that caused this one (a file-system error, a client error, …). */
  cause?: unknown
}

/**
 * Marks every kv error, whichever build or copy of @kv/core made it: `instanceof` tells only the
 * classes of one copy, and a process may load the ESM and the CommonJS build, or two installed
 * copies (a backend's and the application's). See {@link isKVError}.
 */
const KV_ERROR_BRAND = Symbol.for('@kv/core:kv-error')

/**
 * Base class of every error kv throws on purpose. `instanceof` recognises the errors of this
 * copy of @kv/core only; {@link isKVError} those of any.
 */
export class KVError extends Error {
  /** Stable machine-readable code; see {@link ErrorCode}. */
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: KVErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.name = new.target.name
    Object.defineProperty(this, KV_ERROR_BRAND, { value: true })
  }
}

/**
 * An argument broke a rule: a bucket that is not a non-empty string of at most 255 UTF-8
 * bytes, a key that is not bytes or a string or is over 64 KiB, a value over the backend's
 * limit, a bad option. Nothing was written.
 */
export class InvalidArgumentError extends KVError {
  /** The name of the argument that was rejected (`bucket`, `key`, `value`, …). */
  readonly argument: string

  constructor(argument: string, message: string, options?: KVErrorOptions) {
    super(ErrorCode.INVALID_ARGUMENT, message, options)
    this.argument = argument
  }
}

/** The store is not open (never opened, or closed). Call `open()` first. */
export class NotOpenError extends KVError {
  constructor(
    message = 'The store is not open: call open() before using it.',
    options?: KVErrorOptions,
  ) {
    super(ErrorCode.NOT_OPEN, message, options)
  }
}

/** A stored value is not valid LZ4 in the Go framework's layout (SPEC §4). */
export class CorruptValueError extends KVError {
  constructor(message: string, options?: KVErrorOptions) {
    super(ErrorCode.CORRUPT_VALUE, message, options)
  }
}

/** The store's files are damaged in a way that recovery must not guess about. */
export class CorruptStoreError extends KVError {
  /** The damaged file, when known. */
  readonly file: string | undefined
  /** The byte offset of the damage in `file`, when known. */
  readonly offset: number | undefined

  constructor(message: string, options?: KVErrorOptions & { file?: string; offset?: number }) {
    super(ErrorCode.CORRUPT_STORE, message, options)
    this.file = options?.file
    this.offset = options?.offset
  }
}

/** Another process (or another store in this process) holds the store's lock. */
export class LockedError extends KVError {
  constructor(message: string, options?: KVErrorOptions) {
    super(ErrorCode.LOCKED, message, options)
  }
}

/**
 * The backend could not be reached (a server down, a timeout), or a file backend could not use its
 * disk (permissions, a full or read-only file system). Retrying later, or once the cause the
 * message names is fixed, may work.
 */
export class BackendUnavailableError extends KVError {
  constructor(message: string, options?: KVErrorOptions) {
    super(ErrorCode.BACKEND_UNAVAILABLE, message, options)
  }
}

/**
 * The backend answered but refused or failed the operation for a reason that retrying the same
 * request will not fix (an unexpected server error, a server that is not what was configured).
 */
export class BackendError extends KVError {
  constructor(message: string, options?: KVErrorOptions) {
    super(ErrorCode.BACKEND_ERROR, message, options)
  }
}

/** The backend's configuration says `enabled: false`. */
export class BackendDisabledError extends KVError {
  constructor(message: string, options?: KVErrorOptions) {
    super(ErrorCode.BACKEND_DISABLED, message, options)
  }
}

/** No (enabled) backend is registered, or the named one is not. */
export class NoBackendError extends KVError {
  constructor(message: string, options?: KVErrorOptions) {
    super(ErrorCode.NO_BACKEND, message, options)
  }
}

/** A backend was registered under a name that is already taken. */
export class DuplicateBackendError extends KVError {
  constructor(message: string, options?: KVErrorOptions) {
    super(ErrorCode.DUPLICATE_BACKEND, message, options)
  }
}

/** The configuration (file or `configure()`) has an unknown key or a wrong type. */
export class InvalidConfigError extends KVError {
  /** Dotted path of the offending key, for example `simple_kv.sync_writes`. */
  readonly key: string | undefined

  constructor(message: string, options?: KVErrorOptions & { key?: string }) {
    super(ErrorCode.INVALID_CONFIG, message, options)
    this.key = options?.key
  }
}

/** The backend refused our credentials (authentication or authorisation failed). */
export class AuthFailedError extends KVError {
  constructor(message: string, options?: KVErrorOptions) {
    super(ErrorCode.AUTH_FAILED, message, options)
  }
}

/** The backend cannot do what was asked (a capability it does not have). */
export class NotSupportedError extends KVError {
  constructor(message: string, options?: KVErrorOptions) {
    super(ErrorCode.NOT_SUPPORTED, message, options)
  }
}

/**
 * True when `error` is a kv error, optionally with the given code — made by any build or copy of
 * @kv/core loaded in the process (unlike `instanceof`).
 */
export function isKVError(error: unknown, code?: ErrorCode): error is KVError {
  if (typeof error !== 'object' || error === null) return false
  if ((error as { [KV_ERROR_BRAND]?: unknown })[KV_ERROR_BRAND] !== true) return false
  return code === undefined || (error as KVError).code === code
}
