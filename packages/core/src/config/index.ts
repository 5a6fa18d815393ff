export { MAX_TIMER_MS, MAX_TIMER_SECONDS } from './bounds.js'
export { configure, resetConfiguration } from './configure.js'
export {
  type ConfigSection,
  type ConfigSections,
  defineConfigSection,
  type KVConfig,
} from './sections.js'
export {
  configFilePath,
  dataDir,
  isKnownTopLevelKey,
  isPlainMapping,
  KNOWN_SECTIONS,
  readConfigFile,
  validateFile,
} from './source.js'
