export {
  Masker,
  type ColumnRef,
  type MaskDetectorSpec,
  type MaskingSpec,
  type MaskOutcome,
  type ValueKind,
} from './masker';
export { BUILTIN_DETECTOR_NAMES, type BuiltinDetectorName } from './detectors';
export { ibanValid, luhnValid, ssnValid } from './checksums';
