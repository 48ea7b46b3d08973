export { createDataAnalysisAgent } from './agent.js';
export type { DataAnalysisAgentOptions, AgentFailedPayload } from './agent.js';
export { analyzeVehicle, MODEL_VERSION, ACTIONABLE_PROBABILITY } from './analyze.js';
export type { AnalyzeOptions } from './analyze.js';
export { loadDtcCatalog, parseDtcCsv, builtInDtcCatalog, classifyDescription } from './dtc.js';
export type { DtcCatalog, DtcInfo, DtcSeverity, LoadDtcCatalogResult } from './dtc.js';
export { SIGNAL_RULES } from './rules/thresholds.js';
export type { SignalRule } from './rules/thresholds.js';
