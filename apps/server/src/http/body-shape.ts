/** The body is level 1; no endpoint needs more than a few, and deeper ones only cost us. */
export const MAX_BODY_DEPTH = 32;

export interface BodyShapeFault {
  /** The field, named as validation names fields: dotted keys, a list by its own name. */
  field: string;
  message: string;
}

/**
 * What a parsed JSON body may not carry whatever the endpoint: nesting beyond MAX_BODY_DEPTH
 * (which later recursive code would pay for, or overflow on), and the prototype keys
 * (`__proto__`, `constructor.prototype`) that Fastify's secure JSON parsing refuses, since
 * code merging the body into an object could pollute prototypes with them.
 */
export function bodyShapeFault(body: unknown): BodyShapeFault | null {
  return faultIn(body, '', 1, '');
}

function faultIn(
  value: unknown,
  path: string,
  depth: number,
  topField: string,
): BodyShapeFault | null {
  if (value === null || typeof value !== 'object') return null;
  if (depth > MAX_BODY_DEPTH)
    return {
      field: topField || 'non_field_errors',
      message: `Nested deeper than ${MAX_BODY_DEPTH} levels.`,
    };
  if (Array.isArray(value)) {
    for (const item of value) {
      const fault = faultIn(item, path, depth + 1, topField);
      // Inside a list the list itself is named, as for every other field error in a list.
      if (fault) return { field: path || 'non_field_errors', message: fault.message };
    }
    return null;
  }
  for (const [key, item] of Object.entries(value)) {
    const keyPath = path ? `${path}.${key}` : key;
    if (key === '__proto__')
      return {
        field: keyPath,
        message: 'A "__proto__" key (a prototype property) is not allowed.',
      };
    if (
      key === 'constructor' &&
      item !== null &&
      typeof item === 'object' &&
      Object.hasOwn(item, 'prototype')
    )
      return {
        field: `${keyPath}.prototype`,
        message: 'A "constructor.prototype" key (a prototype property) is not allowed.',
      };
    const fault = faultIn(item, keyPath, depth + 1, topField || key);
    if (fault) return fault;
  }
  return null;
}
