// The Workers runtime's JS half. Evaluated once at pre-initialization; it
// receives `host` (native functions, see bridge.rs) and returns the internal
// object the Rust dispatcher calls. Nothing here is reachable from user code
// except through the globals and `cloudflare:workers` exports it defines.
(function (host) {
  "use strict";

  // Intrinsics captured before user code can replace them.
  const O = Object;
  const ArrayIsArray = Array.isArray;
  const isView = ArrayBuffer.isView;
  const abByteLength = O.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get;
  const TypedArray = O.getPrototypeOf(Uint8Array);
  const taTag = O.getOwnPropertyDescriptor(TypedArray.prototype, Symbol.toStringTag).get;
  const dateGetTime = Date.prototype.getTime;
  const regexpSource = O.getOwnPropertyDescriptor(RegExp.prototype, "source").get;
  const regexpFlags = O.getOwnPropertyDescriptor(RegExp.prototype, "flags").get;
  const mapSize = O.getOwnPropertyDescriptor(Map.prototype, "size").get;
  const setSize = O.getOwnPropertyDescriptor(Set.prototype, "size").get;
  const mapEntries = Map.prototype.entries;
  const setValues = Set.prototype.values;
  const numberValueOf = Number.prototype.valueOf;
  const stringValueOf = String.prototype.valueOf;
  const booleanValueOf = Boolean.prototype.valueOf;
  const bigintValueOf = BigInt.prototype.valueOf;
  const JSONparse = JSON.parse;
  const JSONstringify = JSON.stringify;

  // A marker only the runtime holds: passed as a constructor's first argument,
  // it selects the runtime's own construction from parts known to be valid.
  const TRUSTED = O.freeze({});

  function brand(getter, v) {
    try {
      getter.call(v);
      return true;
    } catch {
      return false;
    }
  }

  function makeError(name, message) {
    const e = new Error(message);
    e.name = name;
    return e;
  }

