/**
 * `@kv/elastic`: the `elastic` backend on the official `@elastic/elasticsearch` client. Importing
 * this module registers a store named `elastic`, configured from the `elastic` section when it is
 * first opened (the import does no I/O and does not load the client).
 *
 * @packageDocumentation
 */
import { registerBackend } from '@kv/core'
import { ELASTIC, ElasticKV } from './elastic-kv.js'

export { IdCollisionError } from './collision.js'
export {
  DEFAULT_BATCH_MAX_BYTES,
  DEFAULT_INDEX_NAME,
  DEFAULT_MAX_CONTENT_LENGTH,
  type ElasticKVConfig,
  type ElasticKVOptions,
  elasticSection,
} from './config.js'
export { decodeContent, encodeContent, KEY_FIELDS } from './document.js'
export { ELASTIC, ElasticKV, maxValueBytesFor, REQUEST_ENVELOPE_BYTES } from './elastic-kv.js'
export { documentId, type IdScheme } from './ids.js'

registerBackend(ELASTIC, '@kv/elastic', () => new ElasticKV())
