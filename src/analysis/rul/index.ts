/** Learned remaining-useful-life model on run-to-failure histories (NASA C-MAPSS format). */
export { parseCmapss, readCmapss, parseRulList, CMAPSS_COLUMNS, type CmapssUnit } from './cmapss.js';
export { RulErrorCodes, RulInputError, isRulInputError, type RulErrorCode } from './errors.js';
export { rmse, nasaScore } from './metrics.js';
export {
  trainRulModel,
  predictRul,
  predictAt,
  parseRulModel,
  serializeRulModel,
  DEFAULT_RUL_TRAIN_OPTIONS,
  RUL_MODEL_FORMAT,
  RUL_MODEL_VERSION,
  type RulModel,
  type RulPrediction,
  type RulTrainOptions,
  type RulTrainProgress,
} from './model.js';
export { crossValidate, foldsOf, DEFAULT_CV_OPTIONS, type CvOptions, type CvResult } from './cv.js';
