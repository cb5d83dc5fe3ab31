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
export {
  columnMasks,
  isUntraced,
  lineageFacts,
  ownSources,
  SourceSet,
  untracedStatement,
  type ColumnMask,
  type LineageOfStatement,
  type LineageSource,
  type OutputColumn,
  type OutputLineage,
  type SourceColumn,
  type UntracedSource,
} from './lineage';
