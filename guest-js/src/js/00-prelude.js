// The Workers runtime's JS half. Evaluated once at pre-initialization; it
// receives `host` (native functions, see bridge.rs) and returns the internal
// object the Rust dispatcher calls. Nothing here is reachable from user code
// except through the globals and `cloudflare:workers` exports it defines.
(function (host) {
  "use strict";

  // Intrinsics captured before user code can replace them.
  const O = Object;
  const ArrayIsArray = Array.isArray;
  const arrayValues = Array.prototype[Symbol.iterator];
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

  // What an instance changes in the runtime's own state, kept together: the
  // engine image is shared by every instance until one writes a page of it,
  // and then that page is copied for the instance. Kept in separate
  // variables and objects, this state made each instance copy 7 more pages of
  // the image (24 instead of 17: FACETS_BENCH_DIRTY=1 in
  // benches/instance_memory.rs). Maps and the like that instances fill are made per
  // instance, on first use, so their writes land on the instance's own pages.
  const inst = {
    worker: null, // the loaded worker's module namespace
    object: null, // the Durable Object running in this instance
    blockOutbound: false,
    outboundTarget: null, // [binding, hex, name] of a globalOutbound stub
    streamedBody: null, // the reader of the last fetch event's streamed body
    timeOrigin: 0, // performance.timeOrigin, set when the worker loads
    monotonicOrigin: 0,
    int64AsBigInt: false,
    bindingIds: null, // WeakMap: binding objects → [kind, host id]
    timers: null, // Map: id → timer
    timerHeap: null, // min-heap by (when, seq); cleared timers are skipped lazily
    timerSeq: 0,
    nextTimerId: 1,
    timerNesting: 0,
    pendingIo: null, // Map: host handle → callback(handle)
    waitUntil: null, // the promises passed to ctx.waitUntil, not yet settled
    headerNames: null, // Map: valid header names seen, by spelling → lower case
    goodHeaderValues: null, // Set: short header values seen valid as they are
  };
  // The worker's env and its exports (ctx.exports), filled when it loads.
  const env = {};
  const exportsObject = {};

  // Whether `v` is an object of the built-in class whose internal-slot getter
  // (or valueOf) is `getter`, e.g. brand(mapSize, v) for a Map. Decided by
  // QuickJS's class id: calling the getter and catching its TypeError cost a
  // stack trace (~12 µs here) for every object that is not one.
  const classOf = host.classOf;
  const CLASS = {
    ARRAY_BUFFER: classOf(new ArrayBuffer(0)),
    DATE: classOf(new Date(0)),
    MAP: classOf(new Map()),
    SET: classOf(new Set()),
    REGEXP: classOf(/x/),
    NUMBER: classOf(new Number(0)),
    STRING: classOf(new String("")),
    BOOLEAN: classOf(new Boolean(false)),
    BIGINT: classOf(O(0n)),
  };
  const BRANDS = new Map([
    [abByteLength, CLASS.ARRAY_BUFFER],
    [dateGetTime, CLASS.DATE],
    [mapSize, CLASS.MAP],
    [setSize, CLASS.SET],
    [regexpSource, CLASS.REGEXP],
    [numberValueOf, CLASS.NUMBER],
    [stringValueOf, CLASS.STRING],
    [booleanValueOf, CLASS.BOOLEAN],
    [bigintValueOf, CLASS.BIGINT],
  ]);
  function brand(getter, v) {
    const id = BRANDS.get(getter);
    if (id === undefined) throw new TypeError("brand: unknown getter"); // the runtime's own mistake
    return classOf(v) === id;
  }

  function makeError(name, message) {
    const e = new Error(message);
    e.name = name;
    return e;
  }

