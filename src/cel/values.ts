/**
 * Values a compiled CEL expression sees and returns. Event attributes are JSON scalars; an
 * attribute that holds an object is represented by `OBJECT` (it can be tested with `has()` but not
 * compared). `undefined` is CEL's error value: a missing attribute ("no such key"), a type
 * mismatch ("no such overload"). It propagates like CEL errors do, and `&&`/`||` absorb it when
 * the other side decides the result, so a filter over a missing attribute simply does not match.
 */
export const OBJECT: unique symbol = Symbol('cel.object');

export type CelValue = string | number | boolean | null | typeof OBJECT | undefined;

/** A record of extracted attribute values, indexed by slot (see `AttributeSlots`). */
export type CelRecord = CelValue[];

export type CompiledExpression = (record: CelRecord) => CelValue;
