// Value checks that need the JS engine's own view of a value (prototypes,
// cycles). Kept in JS because walking a value from wasm costs a boundary
// crossing per node.

const plainProto = Object.prototype;

function describe(v) {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  const ctor = Object.getPrototypeOf(v)?.constructor?.name;
  return ctor ? `a ${ctor}` : 'an object with a custom prototype';
}

function check(v, path, stack) {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(v) ? null : `${path || 'the value'} is ${v}, which JSON stores as null`;
    case 'undefined':
      return `${path || 'the value'} is undefined inside an array, which JSON stores as null`;
    case 'object':
      break;
    default:
      return `${path || 'the value'} is ${describe(v)}, which cannot be stored`;
  }
  if (v === null) return null;
  if (stack.includes(v)) return `${path || 'the value'} refers back to itself (a cycle)`;
  const isArray = Array.isArray(v);
  if (!isArray) {
    const proto = Object.getPrototypeOf(v);
    if (proto !== plainProto && proto !== null) {
      return `${path || 'the value'} is ${describe(v)}; store plain objects, arrays, strings, finite numbers, booleans and null (for a Date, store date.toISOString())`;
    }
  }
  stack.push(v);
  if (isArray) {
    for (let i = 0; i < v.length; i++) {
      const p = check(v[i], `${path}[${i}]`, stack);
      if (p) return p;
    }
  } else {
    for (const k of Object.keys(v)) {
      const item = v[k];
      // An undefined property is dropped by JSON, as it is by spreading: allowed.
      if (item === undefined) continue;
      const p = check(item, path ? `${path}.${k}` : k, stack);
      if (p) return p;
    }
  }
  stack.pop();
  return null;
}

/** JSON text of `value` if it survives a JSON round trip unchanged; else throws a string saying where it does not. */
export function encodeValue(value, key) {
  let problem;
  try {
    problem = check(value, key, []);
  } catch (e) {
    problem = `${key} is nested too deeply to store`;
  }
  if (problem) throw problem;
  return JSON.stringify(value);
}

// JSON text can only parse to something unstorable through a number that
// overflows to Infinity: 309+ digits, or an exponent of 3+ digits. Text
// without either needs no walk.
const mayOverflow = /\d{309}|[eE][+-]?\d{3}/;

/** The value of stored or received JSON text, or undefined if the text is not JSON or parses to something unstorable. */
export function decodeValue(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (mayOverflow.test(text) && check(value, 'value', [])) return undefined;
  return value;
}

/** Reports an exception thrown by app code (a subscriber) without breaking the caller. */
export function reportLater(error) {
  queueMicrotask(() => {
    throw error;
  });
}
