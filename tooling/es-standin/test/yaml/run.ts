/**
 * Executes YAML REST test steps with the official client: `do` (with `catch`, `ignore`,
 * `headers`), `set`, `match`, `is_true`, `is_false`, `length`, `gt`, `gte`, `lt` and `lte`, with
 * `$stash` substitution.
 */
import { type Client, errors } from '@elastic/elasticsearch'
import type { Step } from './load.js'

/** What `catch:` names, mapped to HTTP status codes (`request` is any other 4xx/5xx). */
const CATCHES: Record<string, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  missing: 404,
  request_timeout: 408,
  conflict: 409,
  unavailable: 503,
}

/** The state of one test: the last response and the stash. */
export class Runner {
  readonly #client: Client
  #response: unknown
  #stash = new Map<string, unknown>()

  constructor(client: Client) {
    this.#client = client
  }

  /** Forgets the stash (between tests). */
  resetStash(): void {
    this.#stash.clear()
    this.#response = undefined
  }

  /** Runs the steps in order; throws an assertion error naming the step that failed. */
  async run(steps: Step[]): Promise<void> {
    for (const step of steps) {
      const [kind, argument] = Object.entries(step)[0]!
      await this.#step(kind, argument)
    }
  }

  #resolve(value: unknown): unknown {
    if (typeof value === 'string') {
      if (value.startsWith('$') && this.#stash.has(value.slice(1)))
        return this.#stash.get(value.slice(1))
      return value.replace(/\$\{(\w+)\}/g, (whole, name: string) =>
        this.#stash.has(name) ? String(this.#stash.get(name)) : whole,
      )
    }
    if (Array.isArray(value)) return value.map((item) => this.#resolve(item))
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [
          this.#resolve(key) as string,
          this.#resolve(item),
        ]),
      )
    }
    return value
  }

  /** The value at a dotted path of the last response (`''` or `$body` is the whole body). */
  #lookup(path: string): unknown {
    if (path === '' || path === '$body') return this.#response
    const parts = path
      .split(/(?<!\\)\./)
      .map((part) => this.#resolve(part.replace(/\\\./g, '.')) as string)
    let node: unknown = this.#response
    for (const part of parts) {
      if (node === null || node === undefined) return undefined
      node =
        Array.isArray(node) && /^\d+$/.test(part)
          ? node[Number(part)]
          : (node as Record<string, unknown>)[part]
    }
    return node
  }

  async #do(argument: Record<string, unknown>): Promise<void> {
    const {
      catch: expected,
      headers,
      ignore,
      warnings: _w,
      allowed_warnings: _a,
      ...rest
    } = argument
    const [api, rawParams] = Object.entries(rest)[0]!
    const params = (this.#resolve(rawParams ?? {}) as Record<string, unknown>) ?? {}
    let target: unknown = this.#client
    for (const segment of api.split('.')) {
      const name = segment.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase())
      target = (target as Record<string, unknown>)[name]
      if (target === undefined) throw new Error(`the client has no API [${api}]`)
    }
    const owner = api.includes('.')
      ? (this.#client as unknown as Record<string, unknown>)[api.split('.')[0]!]
      : this.#client
    const options: Record<string, unknown> = { meta: true }
    if (headers !== undefined) options.headers = headers
    if (ignore !== undefined) options.ignore = Array.isArray(ignore) ? ignore : [ignore]
    try {
      const result = await (
        target as (p: unknown, o: unknown) => Promise<{ body: unknown; statusCode: number }>
      ).call(owner, params, options)
      if (expected !== undefined) {
        throw new Error(
          `[${api}] expected an error (catch: ${String(expected)}) but got status ${result.statusCode}`,
        )
      }
      this.#response = result.body
    } catch (error) {
      if (expected === undefined || !(error instanceof errors.ResponseError)) throw error
      const status = error.statusCode ?? 0
      const wanted = String(expected)
      if (wanted === 'request') {
        if (status < 400) throw new Error(`[${api}] expected a 4xx/5xx, got ${status}`)
      } else if (wanted.startsWith('/')) {
        if (!toRegExp(wanted).test(JSON.stringify(error.body)))
          throw new Error(`[${api}] error does not match ${wanted}: ${error.message}`)
      } else if (CATCHES[wanted] !== status) {
        throw new Error(
          `[${api}] expected catch ${wanted} (${CATCHES[wanted]}), got ${status}: ${error.message}`,
        )
      }
      this.#response = error.body
    }
  }

  async #step(kind: string, argument: unknown): Promise<void> {
    if (kind === 'do') return this.#do(argument as Record<string, unknown>)
    const pairs = Object.entries((argument ?? {}) as Record<string, unknown>)
    switch (kind) {
      case 'set':
        for (const [path, name] of pairs) this.#stash.set(String(name), this.#lookup(path))
        return
      case 'match':
        for (const [path, want] of pairs) {
          const actual = this.#lookup(path)
          const expected = this.#resolve(want)
          if (!matches(actual, expected)) {
            throw new Error(
              `match ${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
            )
          }
        }
        return
      case 'is_true':
      case 'is_false': {
        const path = typeof argument === 'string' ? argument : ''
        const value = this.#lookup(path)
        const falsy =
          value === undefined ||
          value === null ||
          value === false ||
          value === 0 ||
          value === '' ||
          value === 'false'
        if (falsy === (kind === 'is_true'))
          throw new Error(`${kind} ${JSON.stringify(path)}: got ${JSON.stringify(value)}`)
        return
      }
      case 'length':
        for (const [path, want] of pairs) {
          const value = this.#lookup(path)
          const length = Array.isArray(value)
            ? value.length
            : value !== null && typeof value === 'object'
              ? Object.keys(value).length
              : -1
          if (length !== Number(this.#resolve(want)))
            throw new Error(`length ${path}: expected ${String(want)}, got ${length}`)
        }
        return
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        for (const [path, want] of pairs) {
          const value = Number(this.#lookup(path))
          const limit = Number(this.#resolve(want))
          const ok =
            kind === 'gt'
              ? value > limit
              : kind === 'gte'
                ? value >= limit
                : kind === 'lt'
                  ? value < limit
                  : value <= limit
          if (!ok) throw new Error(`${kind} ${path}: ${value} is not ${kind} ${limit}`)
        }
        return
      default:
        throw new Error(`unsupported step [${kind}]`)
    }
  }
}

/** A YAML-test regex: `/…/` in extended mode (whitespace and `#` comments ignored). */
function toRegExp(text: string): RegExp {
  const body = text
    .trim()
    .slice(1, -1)
    .replace(/\\#/g, '\uE000')
    .replace(/#.*$/gm, '')
    .replace(/\\ /g, '\uE001')
    .replace(/\s+/g, '')
    .replace(/\uE000/g, '#')
    .replace(/\uE001/g, ' ')
  return new RegExp(body, 's')
}

function matches(actual: unknown, expected: unknown): boolean {
  if (
    typeof expected === 'string' &&
    expected.trim().startsWith('/') &&
    expected.trim().endsWith('/') &&
    expected.trim().length > 1
  ) {
    return toRegExp(expected).test(typeof actual === 'string' ? actual : JSON.stringify(actual))
  }
  if (typeof expected === 'number' && typeof actual === 'number') return expected === actual
  if (expected === null || typeof expected !== 'object') return actual === expected
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((item, i) => matches(actual[i], item))
    )
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false
  const a = actual as Record<string, unknown>
  const e = expected as Record<string, unknown>
  return (
    Object.keys(a).length === Object.keys(e).length &&
    Object.keys(e).every((key) => matches(a[key], e[key]))
  )
}
