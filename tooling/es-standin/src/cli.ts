#!/usr/bin/env node
/**
 * `es-standin [--port N] [--version X.Y.Z] [--max-content-length BYTES] [--refresh-interval MS]
 * [--disallow-expensive-queries]`:
 * runs the stand-in in the foreground, for trying the backend or the CLI by hand.
 *
 * @module
 */
import { parseArgs } from 'node:util'
import { startStandin } from './server.js'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '9200' },
    version: { type: 'string', default: '8.19.2' },
    'max-content-length': { type: 'string' },
    'refresh-interval': { type: 'string' },
    'disallow-expensive-queries': { type: 'boolean', default: false },
  },
})
const standin = await startStandin({
  port: Number(values.port),
  version: values.version,
  ...(values['max-content-length']
    ? { maxContentLength: Number(values['max-content-length']) }
    : {}),
  ...(values['refresh-interval'] ? { refreshIntervalMs: Number(values['refresh-interval']) } : {}),
  allowExpensiveQueries: !values['disallow-expensive-queries'],
})
console.log(
  `es-standin listening on ${standin.url} (Elasticsearch ${values.version} stand-in); Ctrl-C to stop`,
)
process.on('SIGINT', () => {
  void standin.close().then(() => process.exit(0))
})
