/**
 * `@kv/es-standin`: a stand-in Elasticsearch server for tests (private test infrastructure).
 *
 * It answers the REST exchanges the `elastic` backend and Elastic's client YAML tests use, over
 * real HTTP on 127.0.0.1, faithfully enough that the official client cannot tell it from a
 * one-node cluster for those exchanges. It is not a search engine: everything is in memory.
 *
 * @packageDocumentation
 */
export type { StandinAuth } from './auth.js'
export type { Cluster } from './cluster.js'
export type { Doc, EsIndex } from './es-index.js'
export { TEST_TLS_FILES, testTls } from './fixtures.js'
export { type RequestCounts, type Standin, type StandinOptions, startStandin } from './server.js'
