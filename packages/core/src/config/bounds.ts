/**
 * Bounds configuration schemas share.
 *
 * @module
 */

/**
 * The longest delay a Node.js timer takes: 2,147,483,647 ms (a signed 32-bit number), about
 * 24.8 days. A longer one is not clamped but fires after 1 ms, so a configured interval or
 * timeout above it must be refused.
 */
export const MAX_TIMER_MS = 2_147_483_647

/** {@link MAX_TIMER_MS} in whole seconds: 2,147,483. */
export const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000)
