/**
 * A self-signed certificate for 127.0.0.1 and localhost (valid until 2125), for TLS tests: start
 * the stand-in with `tls: await testTls()` and trust `TEST_TLS_FILES.cert` as the CA.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))

/** Paths of the test certificate (also its own CA) and its private key. */
export const TEST_TLS_FILES = { cert: fixture('tls-cert.pem'), key: fixture('tls-key.pem') }

/** The test key and certificate, for `startStandin({ tls })`. */
export async function testTls(): Promise<{ key: Buffer; cert: Buffer }> {
  const [key, cert] = await Promise.all([
    readFile(TEST_TLS_FILES.key),
    readFile(TEST_TLS_FILES.cert),
  ])
  return { key, cert }
}
