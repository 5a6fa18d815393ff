/**
 * The seed's "Complete Example", in TypeScript: CRUD and compression through the package-level
 * functions of @kv/core, on the default embedded backend. Importing the backend registers it;
 * the store opens on first use and reads ./kv.yml (or KV_CONFIG) if there is one.
 *
 * Run it with `pnpm example` from the repository root.
 */
import * as kv from '@kv/core'
import '@kv/badger'

const text = (bytes: Uint8Array | null): string =>
  new TextDecoder().decode(bytes ?? new Uint8Array())

async function main(): Promise<void> {
  const bucket = 'example'

  // --- Create ---
  await kv.addValue(bucket, 'greeting', 'hello world')
  console.log('stored: greeting -> hello world')

  // --- Read ---
  const value = await kv.getValue(bucket, 'greeting')
  console.log(`retrieved: greeting -> ${text(value)}`)

  // --- Exists ---
  const exists = await kv.existsKey(bucket, 'greeting')
  console.log(`exists: ${exists}`)

  // --- Compressed Write/Read ---
  const largeData = '{"payload": "large document content that benefits from compression..."}'
  await kv.addValueCompress(bucket, 'doc-001', largeData)
  console.log('stored compressed: doc-001')

  const decompressed = await kv.getCompressedValue(bucket, 'doc-001')
  console.log(`retrieved compressed: doc-001 -> ${text(decompressed)}`)

  // --- Delete ---
  await kv.deleteKey(bucket, 'greeting')

  // Verify deletion
  if ((await kv.getValue(bucket, 'greeting')) === null) {
    console.log('deleted: greeting (confirmed nil)')
  }

  await kv.close()
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
