'use strict';
// node:util and node:util/types for undici's Fetch classes inside the isolate.
const toString = Object.prototype.toString;
const tag = (v) => toString.call(v);
const TypedArray = Object.getPrototypeOf(Uint8Array);
const typedArrayTag = Object.getOwnPropertyDescriptor(TypedArray.prototype, Symbol.toStringTag).get;
const isObject = (v) => (typeof v === 'object' && v !== null) || typeof v === 'function';
const byteLengthGetter = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
const sabByteLengthGetter = typeof SharedArrayBuffer === 'function' ? Object.getOwnPropertyDescriptor(SharedArrayBuffer.prototype, 'byteLength').get : null;
const dataViewByteLength = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteLength').get;

function brand(getter) {
  return (v) => {
    if (!isObject(v) || getter === null) return false;
    try {
      getter.call(v);
      return true;
    } catch {
      return false;
    }
  };
}

const types = {
  isArrayBuffer: brand(byteLengthGetter),
  isSharedArrayBuffer: brand(sabByteLengthGetter),
  isAnyArrayBuffer: (v) => types.isArrayBuffer(v) || types.isSharedArrayBuffer(v),
  isArrayBufferView: (v) => ArrayBuffer.isView(v),
  isTypedArray: (v) => isObject(v) && typedArrayTag.call(v) !== undefined,
  isUint8Array: (v) => isObject(v) && typedArrayTag.call(v) === 'Uint8Array',
  isDataView: brand(dataViewByteLength),
  // JavaScript cannot tell a Proxy from its target. Answering true sends undici down its
  // spec-exact paths (record<K, V> conversion through [[OwnPropertyKeys]] and enumerable
  // descriptors, Headers copied through their iterator) instead of its Node-only shortcuts.
  isProxy: () => true,
  isPromise: (v) => tag(v) === '[object Promise]',
  isDate: (v) => tag(v) === '[object Date]',
  isRegExp: (v) => tag(v) === '[object RegExp]',
};

function inspect(value) {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'function') return `[Function: ${value.name || '(anonymous)'}]`;
  if (typeof value !== 'object' || value === null) return String(value);
  try {
    const name = value.constructor && value.constructor.name;
    const json = JSON.stringify(value);
    return name && name !== 'Object' && name !== 'Array' ? `${name} ${json}` : json;
  } catch {
    return tag(value);
  }
}
inspect.custom = Symbol.for('nodejs.util.inspect.custom');

module.exports = {
  types,
  inspect,
  formatWithOptions: (_options, ...values) => values.map(inspect).join(' '),
  format: (...values) => values.map((v) => (typeof v === 'string' ? v : inspect(v))).join(' '),
  deprecate: (fn) => fn,
  isUint8Array: types.isUint8Array,
};
module.exports.types = types;
Object.assign(module.exports, types);
