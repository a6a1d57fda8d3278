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

  // ---------------------------------------------------------------------------
  // Bytes and text

  function toBytes(data) {
    if (data instanceof Uint8Array) return data;
    if (isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (brand(abByteLength, data)) return new Uint8Array(data);
    throw new TypeError("expected an ArrayBuffer or an ArrayBuffer view");
  }

  class TextEncoder {
    get encoding() {
      return "utf-8";
    }
    encode(input = "") {
      return new Uint8Array(host.utf8Encode(String(input)));
    }
    encodeInto(source, destination) {
      const bytes = this.encode(source);
      const n = Math.min(bytes.length, destination.length);
      // Do not split a UTF-8 sequence.
      let end = n;
      if (end < bytes.length) while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
      destination.set(bytes.subarray(0, end));
      let read = 0;
      const s = String(source);
      let written = 0;
      for (const ch of s) {
        const cp = ch.codePointAt(0);
        const len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (written + len > end) break;
        written += len;
        read += ch.length;
      }
      return { read, written: end };
    }
  }

  // Labels and decoders of the WHATWG Encoding Standard (encoding_rs in the
  // bridge). A streaming decode keeps a native decoder (by handle) until the
  // stream ends, or until the TextDecoder is collected.
  const decoderRegistry =
    typeof FinalizationRegistry === "function" ? new FinalizationRegistry((handle) => host.decoderClose(handle)) : null;

  class TextDecoder {
    #encoding;
    #fatal;
    #ignoreBOM;
    #stream; // the native decoder's handle while a stream is open
    constructor(label = "utf-8", options = undefined) {
      const encoding = host.encodingName(String(label));
      if (encoding === undefined || encoding === null) {
        throw new RangeError(`TextDecoder: unsupported encoding "${label}"`);
      }
      if (options !== undefined && options !== null && typeof options !== "object" && typeof options !== "function") {
        throw new TypeError("TextDecoder: options must be an object");
      }
      this.#encoding = encoding;
      this.#fatal = !!options?.fatal;
      this.#ignoreBOM = !!options?.ignoreBOM;
    }
    get encoding() {
      return this.#encoding;
    }
    get fatal() {
      return this.#fatal;
    }
    get ignoreBOM() {
      return this.#ignoreBOM;
    }
    decode(input = undefined, options = undefined) {
      const bytes = input === undefined ? new Uint8Array(0) : toBytes(input);
      const stream = !!options?.stream;
      if (this.#stream === undefined) {
        if (!stream) return host.textDecode(this.#encoding, bytes, this.#fatal, this.#ignoreBOM);
        this.#stream = host.decoderOpen(this.#encoding, this.#ignoreBOM);
        decoderRegistry?.register(this, this.#stream, this);
      }
      const handle = this.#stream;
      if (!stream) this.#endStream();
      try {
        return host.decoderDecode(handle, bytes, this.#fatal, !stream);
      } catch (e) {
        // The native side dropped the decoder: the next call starts afresh.
        this.#endStream();
        throw e;
      }
    }
    #endStream() {
      if (this.#stream === undefined) return;
      this.#stream = undefined;
      decoderRegistry?.unregister(this);
    }
  }

  // --- base64 (HTML standard: btoa/atob) ----------------------------------------

  function btoa(data) {
    if (arguments.length === 0) throw new TypeError("btoa: 1 argument required, but only 0 present");
    const s = String(data);
    if (/[^\x00-\xff]/.test(s)) {
      throw makeError("InvalidCharacterError", "btoa: the string contains characters outside of the Latin1 range");
    }
    return host.base64Encode(s);
  }

  function atob(data) {
    if (arguments.length === 0) throw new TypeError("atob: 1 argument required, but only 0 present");
    const out = host.base64Decode(String(data));
    if (out === undefined || out === null) {
      throw makeError("InvalidCharacterError", "atob: the string to be decoded is not correctly encoded");
    }
    return out;
  }

  // ---------------------------------------------------------------------------
  // Structured clone: values <-> bytes (the storage encoding of kv values).
  // Format version 1: a version byte, then one tagged value. Objects are
  // numbered in order of first appearance; REF points back to one, so cycles
  // and shared references survive.

  const T = {
    UNDEF: 0, NULL: 1, FALSE: 2, TRUE: 3, INT: 4, DOUBLE: 5, STRING: 6, BIGINT: 7,
    DATE: 8, REGEXP: 9, ARRAY: 10, OBJECT: 11, MAP: 12, SET: 13, ABUF: 14, VIEW: 15,
    REF: 16, ERROR: 17, HOLE: 18, BOX_NUMBER: 19, BOX_STRING: 20, BOX_BOOLEAN: 21, BOX_BIGINT: 22,
  };
  const VIEW_KINDS = [
    "DataView", "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
    "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
    "Float16Array",
  ];
  const VIEW_CTORS = [
    DataView, Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array,
    Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array,
    globalThis.Float16Array,
  ];
  const CLONE_VERSION = 1;

  class Writer {
    constructor() {
      this.buf = new Uint8Array(64);
      this._view = null;
      this.len = 0;
    }
    get view() {
      return this._view || (this._view = new DataView(this.buf.buffer));
    }
    ensure(n) {
      if (this.len + n <= this.buf.length) return;
      let cap = this.buf.length * 2;
      while (cap < this.len + n) cap *= 2;
      const nb = new Uint8Array(cap);
      nb.set(this.buf.subarray(0, this.len));
      this.buf = nb;
      this._view = null;
    }
    byte(b) {
      this.ensure(1);
      this.buf[this.len++] = b;
    }
    varint(n) {
      while (n >= 0x80) {
        this.byte((n % 0x80) | 0x80);
        n = Math.floor(n / 0x80);
      }
      this.byte(n);
    }
    i32(n) {
      this.ensure(4);
      this.view.setInt32(this.len, n, true);
      this.len += 4;
    }
    f64(x) {
      this.ensure(8);
      this.view.setFloat64(this.len, x, true);
      this.len += 8;
    }
    raw(u8) {
      this.varint(u8.length);
      this.ensure(u8.length);
      this.buf.set(u8, this.len);
      this.len += u8.length;
    }
    // Strings keep their UTF-16 code units exactly (lone surrogates too):
    // one byte each when every unit fits, else two.
    str(s) {
      const n = s.length;
      let wide = false;
      for (let i = 0; i < n; i++) {
        if (s.charCodeAt(i) > 0xff) {
          wide = true;
          break;
        }
      }
      this.varint(n * 2 + (wide ? 1 : 0));
      this.ensure(wide ? n * 2 : n);
      const b = this.buf;
      let p = this.len;
      if (wide) {
        for (let i = 0; i < n; i++) {
          const c = s.charCodeAt(i);
          b[p++] = c & 0xff;
          b[p++] = c >> 8;
        }
      } else {
        for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
      }
      this.len = p;
    }
    bytes() {
      return this.buf.slice(0, this.len);
    }
  }

  function cloneError(what) {
    return makeError("DataCloneError", `${what} could not be cloned.`);
  }

  function writeValue(w, v, seen) {
    switch (typeof v) {
      case "undefined":
        w.byte(T.UNDEF);
        return;
      case "boolean":
        w.byte(v ? T.TRUE : T.FALSE);
        return;
      case "number":
        if ((v | 0) === v && !O.is(v, -0)) {
          w.byte(T.INT);
          w.i32(v);
        } else {
          w.byte(T.DOUBLE);
          w.f64(v);
        }
        return;
      case "string":
        w.byte(T.STRING);
        w.str(v);
        return;
      case "bigint":
        w.byte(T.BIGINT);
        w.str(v.toString(16));
        return;
      case "symbol":
        throw cloneError(String(v));
      case "function":
        throw cloneError(`function ${v.name || "(anonymous)"}`);
    }
    if (v === null) {
      w.byte(T.NULL);
      return;
    }
    const ref = seen.get(v);
    if (ref !== undefined) {
      w.byte(T.REF);
      w.varint(ref);
      return;
    }
    seen.set(v, seen.size);
    if (ArrayIsArray(v)) {
      const n = v.length;
      w.byte(T.ARRAY);
      w.varint(n);
      for (let i = 0; i < n; i++) {
        if (i in v) writeValue(w, v[i], seen);
        else w.byte(T.HOLE);
      }
      return;
    }
    if (isView(v)) {
      const tag = taTag.call(v);
      const kind = tag === undefined ? 0 : VIEW_KINDS.indexOf(tag);
      if (kind < 0 || !VIEW_CTORS[kind]) throw cloneError(tag);
      w.byte(T.VIEW);
      w.byte(kind);
      writeValue(w, v.buffer, seen);
      w.varint(v.byteOffset);
      w.varint(kind === 0 ? v.byteLength : v.length);
      return;
    }
    if (brand(abByteLength, v)) {
      w.byte(T.ABUF);
      w.raw(new Uint8Array(v));
      return;
    }
    if (brand(dateGetTime, v)) {
      w.byte(T.DATE);
      w.f64(dateGetTime.call(v));
      return;
    }
    if (brand(mapSize, v)) {
      w.byte(T.MAP);
      w.varint(mapSize.call(v));
      for (const [k, val] of mapEntries.call(v)) {
        writeValue(w, k, seen);
        writeValue(w, val, seen);
      }
      return;
    }
    if (brand(setSize, v)) {
      w.byte(T.SET);
      w.varint(setSize.call(v));
      for (const val of setValues.call(v)) writeValue(w, val, seen);
      return;
    }
    if (v !== RegExp.prototype && brand(regexpSource, v)) {
      w.byte(T.REGEXP);
      w.str(regexpSource.call(v));
      w.str(regexpFlags.call(v));
      return;
    }
    if (v instanceof Error) {
      w.byte(T.ERROR);
      w.str(String(v.name));
      w.str(String(v.message));
      w.str(typeof v.stack === "string" ? v.stack : "");
      return;
    }
    if (brand(numberValueOf, v)) {
      w.byte(T.BOX_NUMBER);
      w.f64(numberValueOf.call(v));
      return;
    }
    if (brand(stringValueOf, v)) {
      w.byte(T.BOX_STRING);
      w.str(stringValueOf.call(v));
      return;
    }
    if (brand(booleanValueOf, v)) {
      w.byte(T.BOX_BOOLEAN);
      w.byte(booleanValueOf.call(v) ? 1 : 0);
      return;
    }
    if (brand(bigintValueOf, v)) {
      w.byte(T.BOX_BIGINT);
      w.str(bigintValueOf.call(v).toString(16));
      return;
    }
    if (v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet) {
      throw cloneError(O.prototype.toString.call(v));
    }
    const keys = O.keys(v);
    w.byte(T.OBJECT);
    w.varint(keys.length);
    for (const k of keys) {
      w.str(k);
      writeValue(w, v[k], seen);
    }
  }

  function serialize(value) {
    const w = new Writer();
    w.byte(CLONE_VERSION);
    writeValue(w, value, new Map());
    return w.bytes();
  }

  class Reader {
    constructor(bytes) {
      this.buf = bytes;
      this._view = null;
      this.pos = 0;
      this.objects = [];
    }
    // Made on first use: most values have no fixed-width numbers.
    get view() {
      return this._view || (this._view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
    }
    byte() {
      if (this.pos >= this.buf.length) throw makeError("DataCloneError", "truncated value");
      return this.buf[this.pos++];
    }
    varint() {
      let n = 0;
      let mul = 1;
      for (;;) {
        const b = this.byte();
        n += (b & 0x7f) * mul;
        if (b < 0x80) return n;
        mul *= 0x80;
      }
    }
    i32() {
      const v = this.view.getInt32(this.pos, true);
      this.pos += 4;
      return v;
    }
    f64() {
      const v = this.view.getFloat64(this.pos, true);
      this.pos += 8;
      return v;
    }
    raw() {
      const n = this.varint();
      const out = this.buf.slice(this.pos, this.pos + n);
      this.pos += n;
      return out;
    }
    str() {
      const h = this.varint();
      const n = Math.floor(h / 2);
      const b = this.buf;
      let p = this.pos;
      let s = "";
      if (h & 1) {
        for (let i = 0; i < n; i += 4096) {
          const m = Math.min(4096, n - i);
          const units = new Array(m);
          for (let j = 0; j < m; j++, p += 2) units[j] = b[p] | (b[p + 1] << 8);
          s += String.fromCharCode.apply(null, units);
        }
      } else if (n <= 32) {
        // Short strings (keys, most values): a plain loop beats building a view.
        for (let i = 0; i < n; i++) s += String.fromCharCode(b[p++]);
      } else {
        for (let i = 0; i < n; i += 4096) {
          const m = Math.min(4096, n - i);
          s += String.fromCharCode.apply(null, b.subarray(p, p + m));
          p += m;
        }
      }
      this.pos = p;
      return s;
    }
    value() {
      const tag = this.byte();
      switch (tag) {
        case T.UNDEF:
          return undefined;
        case T.NULL:
          return null;
        case T.FALSE:
          return false;
        case T.TRUE:
          return true;
        case T.INT:
          return this.i32();
        case T.DOUBLE:
          return this.f64();
        case T.STRING:
          return this.str();
        case T.BIGINT:
          return parseBigInt(this.str());
        case T.REF: {
          const i = this.varint();
          if (i >= this.objects.length) throw makeError("DataCloneError", "bad reference");
          return this.objects[i];
        }
      }
      const slot = this.objects.length;
      this.objects.push(undefined);
      const keep = (o) => (this.objects[slot] = o);
      switch (tag) {
        case T.ARRAY: {
          const n = this.varint();
          const a = keep(new Array(n));
          for (let i = 0; i < n; i++) {
            if (this.buf[this.pos] === T.HOLE) this.pos++;
            else a[i] = this.value();
          }
          return a;
        }
        case T.OBJECT: {
          const n = this.varint();
          const o = keep({});
          for (let i = 0; i < n; i++) {
            const k = this.str();
            O.defineProperty(o, k, { value: this.value(), writable: true, enumerable: true, configurable: true });
          }
          return o;
        }
        case T.MAP: {
          const n = this.varint();
          const m = keep(new Map());
          for (let i = 0; i < n; i++) {
            const k = this.value();
            m.set(k, this.value());
          }
          return m;
        }
        case T.SET: {
          const n = this.varint();
          const s = keep(new Set());
          for (let i = 0; i < n; i++) s.add(this.value());
          return s;
        }
        case T.ABUF:
          return keep(this.raw().buffer);
        case T.VIEW: {
          const kind = this.byte();
          const buffer = this.value();
          const offset = this.varint();
          const length = this.varint();
          const Ctor = VIEW_CTORS[kind];
          if (!Ctor) throw makeError("DataCloneError", "bad view kind");
          return keep(new Ctor(buffer, offset, length));
        }
        case T.DATE:
          return keep(new Date(this.f64()));
        case T.REGEXP: {
          const source = this.str();
          return keep(new RegExp(source, this.str()));
        }
        case T.ERROR: {
          const name = this.str();
          const message = this.str();
          const stack = this.str();
          const Ctor = { EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError }[name] || Error;
          const e = new Ctor(message);
          if (e.name !== name) e.name = name;
          if (stack) e.stack = stack;
          return keep(e);
        }
        case T.BOX_NUMBER:
          return keep(O(this.f64()));
        case T.BOX_STRING:
          return keep(O(this.str()));
        case T.BOX_BOOLEAN:
          return keep(O(this.byte() === 1));
        case T.BOX_BIGINT:
          return keep(O(parseBigInt(this.str())));
      }
      throw makeError("DataCloneError", `unknown tag ${tag}`);
    }
  }

  function parseBigInt(hex) {
    return hex[0] === "-" ? -BigInt("0x" + hex.slice(1)) : BigInt("0x" + hex);
  }

  function deserialize(bytes) {
    const r = new Reader(bytes);
    const version = r.byte();
    if (version !== CLONE_VERSION) throw makeError("DataCloneError", `unknown value format ${version}`);
    return r.value();
  }

  function structuredClone(value) {
    return deserialize(serialize(value));
  }

  // ---------------------------------------------------------------------------
  // URL (parsing by the `url` crate, WHATWG) and URLSearchParams.


  function formEncode(s) {
    const bytes = host.utf8Encode(String(s));
    const u8 = new Uint8Array(bytes);
    let out = "";
    for (let i = 0; i < u8.length; i++) {
      const c = u8[i];
      if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2a || c === 0x2d || c === 0x2e || c === 0x5f) {
        out += String.fromCharCode(c);
      } else if (c === 0x20) {
        out += "+";
      } else {
        out += "%" + (c < 16 ? "0" : "") + c.toString(16).toUpperCase();
      }
    }
    return out;
  }

  function formDecode(s) {
    return host.percentDecode(s.replace(/\+/g, " "));
  }

  class URLSearchParams {
    #list = [];
    #url = null;
    constructor(init = "") {
      if (typeof init === "object" && init !== null) {
        if (typeof init[Symbol.iterator] === "function") {
          for (const pair of init) {
            const p = [...pair];
            if (p.length !== 2) throw new TypeError("URLSearchParams: each pair must have exactly two items");
            this.#list.push([String(p[0]), String(p[1])]);
          }
        } else {
          for (const k of O.keys(init)) this.#list.push([k, String(init[k])]);
        }
      } else {
        this.#parse(String(init));
      }
    }
    #parse(s) {
      if (s.startsWith("?")) s = s.slice(1);
      this.#list = [];
      for (const part of s.split("&")) {
        if (part === "") continue;
        const eq = part.indexOf("=");
        const name = eq < 0 ? part : part.slice(0, eq);
        const value = eq < 0 ? "" : part.slice(eq + 1);
        this.#list.push([formDecode(name), formDecode(value)]);
      }
    }
    static _attach(params, url, search) {
      params.#url = url;
      params.#parse(search);
    }
    static _reparse(params, search) {
      params.#parse(search);
    }
    #update() {
      if (this.#url) URL._setSearchFromParams(this.#url, this.toString());
    }
    get size() {
      return this.#list.length;
    }
    append(name, value) {
      this.#list.push([String(name), String(value)]);
      this.#update();
    }
    delete(name, value) {
      name = String(name);
      this.#list = this.#list.filter(([k, v]) => !(k === name && (value === undefined || v === String(value))));
      this.#update();
    }
    get(name) {
      name = String(name);
      const e = this.#list.find(([k]) => k === name);
      return e ? e[1] : null;
    }
    getAll(name) {
      name = String(name);
      return this.#list.filter(([k]) => k === name).map(([, v]) => v);
    }
    has(name, value) {
      name = String(name);
      return this.#list.some(([k, v]) => k === name && (value === undefined || v === String(value)));
    }
    set(name, value) {
      name = String(name);
      value = String(value);
      const i = this.#list.findIndex(([k]) => k === name);
      if (i < 0) this.#list.push([name, value]);
      else {
        this.#list[i][1] = value;
        this.#list = this.#list.filter(([k], j) => j <= i || k !== name);
      }
      this.#update();
    }
    sort() {
      this.#list = this.#list
        .map((e, i) => [e, i])
        .sort((a, b) => (a[0][0] < b[0][0] ? -1 : a[0][0] > b[0][0] ? 1 : a[1] - b[1]))
        .map(([e]) => e);
      this.#update();
    }
    forEach(cb, thisArg) {
      for (const [k, v] of this.#list) cb.call(thisArg, v, k, this);
    }
    *entries() {
      for (const [k, v] of this.#list) yield [k, v];
    }
    *keys() {
      for (const [k] of this.#list) yield k;
    }
    *values() {
      for (const [, v] of this.#list) yield v;
    }
    [Symbol.iterator]() {
      return this.entries();
    }
    toString() {
      return this.#list.map(([k, v]) => formEncode(k) + "=" + formEncode(v)).join("&");
    }
    get [Symbol.toStringTag]() {
      return "URLSearchParams";
    }
  }

  class URL {
    #parts;
    #params = null;
    constructor(url, base) {
      this.#parts = host.urlParse(String(url), base === undefined ? undefined : String(base));
    }
    static canParse(url, base) {
      try {
        new URL(url, base);
        return true;
      } catch {
        return false;
      }
    }
    static parse(url, base) {
      try {
        return new URL(url, base);
      } catch {
        return null;
      }
    }
    static _setSearchFromParams(url, query) {
      url.#parts = host.urlSet(url.#parts[0], "search", query);
    }
    #set(part, value) {
      this.#parts = host.urlSet(this.#parts[0], part, String(value));
      if (this.#params && (part === "search" || part === "href")) URLSearchParams._reparse(this.#params, this.#parts[9]);
    }
    get href() { return this.#parts[0]; }
    set href(v) { this.#set("href", v); }
    get origin() { return this.#parts[1]; }
    get protocol() { return this.#parts[2]; }
    set protocol(v) { this.#set("protocol", v); }
    get username() { return this.#parts[3]; }
    set username(v) { this.#set("username", v); }
    get password() { return this.#parts[4]; }
    set password(v) { this.#set("password", v); }
    get host() { return this.#parts[5]; }
    set host(v) { this.#set("host", v); }
    get hostname() { return this.#parts[6]; }
    set hostname(v) { this.#set("hostname", v); }
    get port() { return this.#parts[7]; }
    set port(v) { this.#set("port", v); }
    get pathname() { return this.#parts[8]; }
    set pathname(v) { this.#set("pathname", v); }
    get search() { return this.#parts[9]; }
    set search(v) { this.#set("search", v); }
    get hash() { return this.#parts[10]; }
    set hash(v) { this.#set("hash", v); }
    get searchParams() {
      if (!this.#params) {
        this.#params = new URLSearchParams();
        URLSearchParams._attach(this.#params, this, this.#parts[9]);
      }
      return this.#params;
    }
    toString() { return this.#parts[0]; }
    toJSON() { return this.#parts[0]; }
    get [Symbol.toStringTag]() { return "URL"; }
  }

  // ---------------------------------------------------------------------------
  // Fetch API (minimal; bodies are buffered).

  const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

  function normalizeHeaderValue(v) {
    v = String(v).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
    if (/[\0\r\n]/.test(v)) throw new TypeError(`invalid header value: ${JSONstringify(v)}`);
    return v;
  }

  function headerName(n) {
    n = String(n);
    if (!HEADER_NAME.test(n)) throw new TypeError(`invalid header name: ${JSONstringify(n)}`);
    return n.toLowerCase();
  }

  class Headers {
    #map = new Map(); // lower-case name -> value (set-cookie: array)
    constructor(init) {
      if (init === undefined || init === null) return;
      if (init instanceof Headers) {
        for (const [k, v] of init.#map) this.#map.set(k, ArrayIsArray(v) ? v.slice() : v);
      } else if (typeof init[Symbol.iterator] === "function") {
        for (const pair of init) {
          const p = [...pair];
          if (p.length !== 2) throw new TypeError("Headers: each header must be a [name, value] pair");
          this.append(p[0], p[1]);
        }
      } else if (typeof init === "object") {
        for (const k of O.keys(init)) this.append(k, init[k]);
      } else {
        throw new TypeError("Headers: init must be an object, an iterable of pairs or a Headers");
      }
    }
    append(name, value) {
      const n = headerName(name);
      const v = normalizeHeaderValue(value);
      const cur = this.#map.get(n);
      if (n === "set-cookie") {
        if (cur) cur.push(v);
        else this.#map.set(n, [v]);
      } else {
        this.#map.set(n, cur === undefined ? v : cur + ", " + v);
      }
    }
    set(name, value) {
      const n = headerName(name);
      const v = normalizeHeaderValue(value);
      this.#map.set(n, n === "set-cookie" ? [v] : v);
    }
    get(name) {
      const v = this.#map.get(headerName(name));
      if (v === undefined) return null;
      return ArrayIsArray(v) ? v.join(", ") : v;
    }
    getSetCookie() {
      const v = this.#map.get("set-cookie");
      return v ? v.slice() : [];
    }
    has(name) {
      return this.#map.has(headerName(name));
    }
    delete(name) {
      this.#map.delete(headerName(name));
    }
    forEach(cb, thisArg) {
      for (const [k, v] of this.entries()) cb.call(thisArg, v, k, this);
    }
    *entries() {
      const names = [...this.#map.keys()].sort();
      for (const n of names) {
        const v = this.#map.get(n);
        if (ArrayIsArray(v)) for (const c of v) yield [n, c];
        else yield [n, v];
      }
    }
    *keys() {
      for (const [k] of this.entries()) yield k;
    }
    *values() {
      for (const [, v] of this.entries()) yield v;
    }
    [Symbol.iterator]() {
      return this.entries();
    }
    get [Symbol.toStringTag]() {
      return "Headers";
    }
  }

  function extractBody(body, headers) {
    if (body === undefined || body === null) return null;
    if (typeof body === "string") {
      if (headers && !headers.has("content-type")) headers.set("content-type", "text/plain;charset=UTF-8");
      return new Uint8Array(host.utf8Encode(body));
    }
    if (body instanceof URLSearchParams) {
      if (headers && !headers.has("content-type")) headers.set("content-type", "application/x-www-form-urlencoded;charset=UTF-8");
      return new Uint8Array(host.utf8Encode(body.toString()));
    }
    if (isView(body) || brand(abByteLength, body)) return toBytes(body).slice();
    // Anything else is converted to a string, as the Fetch spec does.
    return extractBody(String(body), headers);
  }

  class Body {
    #bytes;
    #used = false;
    _initBody(bytes) {
      this.#bytes = bytes;
    }
    get body() {
      return this.#bytes;
    }
    get bodyUsed() {
      return this.#used;
    }
    _take() {
      if (this.#used) throw new TypeError("Body has already been used. It can only be used once.");
      this.#used = true;
      return this.#bytes || new Uint8Array(0);
    }
    _peek() {
      return this.#bytes;
    }
    async arrayBuffer() {
      const b = this._take();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    }
    async bytes() {
      return this._take().slice();
    }
    async text() {
      return host.utf8Decode(this._take(), false);
    }
    async json() {
      return JSONparse(await this.text());
    }
  }

  const NULL_BODY_STATUS = [101, 204, 205, 304];
  const METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"];

  class Request extends Body {
    #method;
    #url;
    #headers;
    #redirect;
    constructor(input, init = {}) {
      super();
      let src = null;
      if (input instanceof Request) {
        src = input;
        this.#url = input.url;
      } else {
        this.#url = new URL(String(input)).href;
      }
      let method = init.method !== undefined ? String(init.method) : src ? src.method : "GET";
      if (METHODS.includes(method.toUpperCase())) method = method.toUpperCase();
      this.#method = method;
      this.#headers = new Headers(init.headers !== undefined ? init.headers : src ? src.headers : undefined);
      this.#redirect = init.redirect || (src ? src.redirect : "follow");
      let bytes = null;
      if (init.body !== undefined && init.body !== null) bytes = extractBody(init.body, this.#headers);
      else if (src && init.body === undefined) bytes = src._peek() ? src._take() : null;
      if (bytes && (method === "GET" || method === "HEAD")) {
        throw new TypeError("Request with a GET or HEAD method cannot have a body.");
      }
      this._initBody(bytes);
    }
    get method() { return this.#method; }
    get url() { return this.#url; }
    get headers() { return this.#headers; }
    get redirect() { return this.#redirect; }
    get signal() { return undefined; }
    get cf() { return undefined; }
    clone() {
      if (this.bodyUsed) throw new TypeError("Cannot clone a Request whose body has been used.");
      const b = this._peek();
      return new Request(this, { body: b ? b.slice() : null, headers: this.#headers });
    }
    get [Symbol.toStringTag]() {
      return "Request";
    }
  }

  class Response extends Body {
    #status;
    #statusText;
    #headers;
    #type = "default";
    #url = "";
    constructor(body = null, init = {}) {
      super();
      const status = init.status === undefined ? 200 : Number(init.status);
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        if (!(status === 101 && init.webSocket)) {
          throw new RangeError(`Responses may only be constructed with status codes in the range 200 to 599, inclusive (got ${init.status}).`);
        }
      }
      this.#status = status;
      this.#statusText = init.statusText === undefined ? "" : String(init.statusText);
      this.#headers = new Headers(init.headers);
      if (body !== null && body !== undefined && NULL_BODY_STATUS.includes(status)) {
        throw new TypeError(`Response with null body status (${status}) cannot have a body.`);
      }
      this._initBody(extractBody(body, this.#headers));
    }
    static json(data, init = {}) {
      const text = JSONstringify(data);
      if (text === undefined) throw new TypeError("Response.json: value is not JSON-serializable");
      const headers = new Headers(init.headers);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
      return new Response(text, { ...init, headers });
    }
    static redirect(url, status = 302) {
      if (![301, 302, 303, 307, 308].includes(status)) throw new RangeError(`invalid redirect status ${status}`);
      return new Response(null, { status, headers: { location: new URL(String(url)).href } });
    }
    static error() {
      const r = new Response(null, { status: 200 });
      r.#status = 0;
      r.#type = "error";
      return r;
    }
    get status() { return this.#status; }
    get statusText() { return this.#statusText; }
    get ok() { return this.#status >= 200 && this.#status <= 299; }
    get headers() { return this.#headers; }
    get type() { return this.#type; }
    get url() { return this.#url; }
    get redirected() { return false; }
    get webSocket() { return null; }
    clone() {
      if (this.bodyUsed) throw new TypeError("Cannot clone a Response whose body has been used.");
      const b = this._peek();
      return new Response(b ? b.slice() : null, { status: this.#status, statusText: this.#statusText, headers: this.#headers });
    }
    get [Symbol.toStringTag]() {
      return "Response";
    }
  }

  function headerPairs(headers) {
    const out = [];
    for (const [k, v] of headers) out.push([k, v]);
    return out;
  }

  // ---------------------------------------------------------------------------
  // console

  function inspect(v, depth, seen) {
    switch (typeof v) {
      case "string":
        return depth === 0 ? v : JSONstringify(v);
      case "undefined":
        return "undefined";
      case "bigint":
        return `${v}n`;
      case "symbol":
        return v.toString();
      case "function":
        return `[Function: ${v.name || "(anonymous)"}]`;
      case "number":
        return O.is(v, -0) ? "-0" : String(v);
      case "boolean":
        return String(v);
    }
    if (v === null) return "null";
    if (seen.includes(v)) return "[Circular]";
    if (v instanceof Error) return v.stack ? `${v.name}: ${v.message}\n${v.stack}`.trimEnd() : `${v.name}: ${v.message}`;
    if (brand(dateGetTime, v)) return isNaN(dateGetTime.call(v)) ? "Invalid Date" : v.toISOString();
    if (v !== RegExp.prototype && brand(regexpSource, v)) return String(v);
    if (depth > 3) return ArrayIsArray(v) ? "[Array]" : "[Object]";
    seen = [...seen, v];
    const next = (x) => inspect(x, depth + 1, seen);
    if (ArrayIsArray(v)) return `[ ${v.map(next).join(", ")} ]`.replace("[  ]", "[]");
    if (brand(mapSize, v)) return `Map(${v.size}) { ${[...v].map(([k, x]) => `${next(k)} => ${next(x)}`).join(", ")} }`;
    if (brand(setSize, v)) return `Set(${v.size}) { ${[...v].map(next).join(", ")} }`;
    if (isView(v)) return `${taTag.call(v) || "DataView"}(${v.length ?? v.byteLength}) [ ${Array.from(v.length === undefined ? [] : v).slice(0, 50).join(", ")} ]`;
    if (brand(abByteLength, v)) return `ArrayBuffer { byteLength: ${abByteLength.call(v)} }`;
    if (v instanceof URL) return `URL ${JSONstringify(v.href)}`;
    if (v instanceof Headers) return `Headers { ${[...v].map(([k, x]) => `${k}: ${JSONstringify(x)}`).join(", ")} }`;
    if (v instanceof Request) return `Request { method: ${JSONstringify(v.method)}, url: ${JSONstringify(v.url)} }`;
    if (v instanceof Response) return `Response { status: ${v.status} }`;
    const name = v.constructor && v.constructor !== Object && typeof v.constructor.name === "string" ? v.constructor.name + " " : "";
    const keys = O.keys(v);
    if (keys.length === 0) return `${name}{}`;
    return `${name}{ ${keys.map((k) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSONstringify(k)}: ${next(v[k])}`).join(", ")} }`;
  }

  function format(args) {
    return args.map((a) => inspect(a, 0, [])).join(" ");
  }

  const LEVELS = { debug: 0, info: 1, log: 2, warn: 3, error: 4 };
  const console = {};
  for (const [name, level] of O.entries(LEVELS)) {
    console[name] = (...args) => host.log(level, format(args));
  }
  console.trace = console.debug;

  // ---------------------------------------------------------------------------
  // Durable Objects: ids, namespaces, stubs, state, storage.

  // --- RPC ------------------------------------------------------------------

  const NOT_RPC = new Set(["constructor", "then", "catch", "finally", "toJSON", "valueOf", "toString"]);

  function decode(buffer) {
    return deserialize(new Uint8Array(buffer));
  }

  // A stub: `base`'s own members, and every other property is an RPC method.
  function rpcStub(base, invoke) {
    return new Proxy(base, {
      get(target, prop) {
        if (typeof prop === "symbol" || prop in target) {
          const v = Reflect.get(target, prop, target);
          return typeof v === "function" ? v.bind(target) : v;
        }
        if (NOT_RPC.has(prop)) return undefined;
        return (...args) => invoke(prop, args);
      },
    });
  }

  function requestObject(input, init) {
    const req = input instanceof Request && init === undefined ? input : new Request(input, init);
    const body = req._peek() ? req._take() : undefined;
    return { method: req.method, url: req.url, headers: headerPairs(req.headers), body };
  }

  function fromResponseArray(r) {
    return makeResponse(r[0], r[1], r[2], r[3]);
  }

  class DurableObjectId {
    #hex;
    #name;
    constructor(hex, name) {
      this.#hex = hex;
      this.#name = name === null ? undefined : name;
    }
    toString() {
      return this.#hex;
    }
    get name() {
      return this.#name;
    }
    equals(other) {
      return other instanceof DurableObjectId && other.#hex === this.#hex;
    }
    get [Symbol.toStringTag]() {
      return "DurableObjectId";
    }
  }

  class DurableObjectStub {
    #binding;
    #id;
    constructor(binding, id) {
      this.#binding = binding;
      this.#id = id;
    }
    get id() {
      return this.#id;
    }
    get name() {
      return this.#id.name;
    }
    async fetch(input, init) {
      return fromResponseArray(host.stubFetch(this.#binding, this.#id.toString(), this.#id.name, requestObject(input, init)));
    }
    _call(method, args) {
      return decode(host.stubCall(this.#binding, this.#id.toString(), this.#id.name, method, serialize(args)));
    }
  }

  function makeResponse(status, statusText, headers, body) {
    const nullBody = NULL_BODY_STATUS.includes(status);
    const r = new Response(nullBody ? null : new Uint8Array(body), { status: status < 200 ? 200 : status, statusText, headers });
    return r;
  }

  // Binding objects → [kind, host id], so that `env` can hand them on.
  const bindingIds = new WeakMap();

  class DurableObjectNamespace {
    #binding;
    constructor(binding) {
      this.#binding = binding;
      bindingIds.set(this, ["durable-object-namespace", binding]);
    }
    idFromName(name) {
      const r = host.idFromName(this.#binding, String(name));
      return new DurableObjectId(r[0], r[1]);
    }
    newUniqueId(_options) {
      const r = host.newUniqueId(this.#binding);
      return new DurableObjectId(r[0], r[1]);
    }
    idFromString(hex) {
      const r = host.idFromString(this.#binding, String(hex));
      return new DurableObjectId(r[0], r[1]);
    }
    get(id, _options) {
      if (!(id instanceof DurableObjectId)) throw new TypeError("get() expects a DurableObjectId (from idFromName, newUniqueId or idFromString)");
      const stub = new DurableObjectStub(this.#binding, id);
      const proxy = rpcStub(stub, async (method, args) => stub._call(method, args));
      bindingIds.set(proxy, ["stub", this.#binding, id.toString(), id.name]);
      return proxy;
    }
    getByName(name, options) {
      return this.get(this.idFromName(name), options);
    }
    jurisdiction(_j) {
      return this;
    }
  }

  function keyString(key, what) {
    if (typeof key !== "string") throw new TypeError(`${what}: keys must be strings`);
    return key;
  }

  class SyncKvStorage {
    get(key) {
      const b = host.kvGet(keyString(key, "kv.get"));
      return b === undefined ? undefined : deserialize(new Uint8Array(b));
    }
    put(key, value) {
      checkedPut(keyString(key, "kv.put"), value, "kv.put");
    }
    delete(key) {
      return host.kvDelete(keyString(key, "kv.delete"));
    }
    *list(options = {}) {
      const opt = (k) => (options[k] === undefined ? undefined : String(options[k]));
      let limit = options.limit;
      if (limit !== undefined) {
        limit = Number(limit);
        if (!Number.isInteger(limit) || limit < 0) throw new TypeError("kv.list: limit must be a non-negative integer");
      }
      const rows = host.kvList(opt("prefix"), opt("start"), opt("startAfter"), opt("end"), !!options.reverse, limit);
      for (const [k, v] of rows) yield [k, deserialize(new Uint8Array(v))];
    }
  }

  // --- SQL -------------------------------------------------------------------

  let int64AsBigInt = false;

  const INT64_MIN = -(2n ** 63n);
  const INT64_MAX = 2n ** 63n - 1n;

  function sqlBinding(v, i) {
    if (typeof v === "bigint" && (v < INT64_MIN || v > INT64_MAX)) {
      throw new RangeError(`SQL binding ${i + 1}: BigInt ${v} does not fit in a 64-bit integer`);
    }
    if (isView(v) && !(v instanceof Uint8Array)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    return v;
  }

  class SqlStorageCursor {
    #columns;
    #rows;
    #pos = 0;
    #rowsRead;
    #rowsWritten;
    constructor(result) {
      this.#columns = result[0];
      this.#rows = result[1];
      this.#rowsRead = result[2];
      this.#rowsWritten = result[3];
    }
    #object(row) {
      const o = {};
      const cols = this.#columns;
      for (let i = 0; i < cols.length; i++) o[cols[i]] = row[i];
      return o;
    }
    next() {
      if (this.#pos >= this.#rows.length) return { done: true, value: undefined };
      return { done: false, value: this.#object(this.#rows[this.#pos++]) };
    }
    toArray() {
      const out = [];
      while (this.#pos < this.#rows.length) out.push(this.#object(this.#rows[this.#pos++]));
      return out;
    }
    one() {
      const rest = this.#rows.length - this.#pos;
      if (rest === 0) throw new Error("Expected exactly one result from SQL query, but got no results.");
      if (rest > 1) throw new Error("Expected exactly one result from SQL query, but got multiple results.");
      return this.#object(this.#rows[this.#pos++]);
    }
    raw() {
      const self = this;
      const rows = this.#rows;
      return {
        next() {
          if (self.#pos >= rows.length) return { done: true, value: undefined };
          return { done: false, value: rows[self.#pos++].slice() };
        },
        toArray() {
          const out = [];
          while (self.#pos < rows.length) out.push(rows[self.#pos++].slice());
          return out;
        },
        [Symbol.iterator]() {
          return this;
        },
      };
    }
    get columnNames() {
      return this.#columns.slice();
    }
    get rowsRead() {
      return this.#rowsRead;
    }
    get rowsWritten() {
      return this.#rowsWritten;
    }
    [Symbol.iterator]() {
      return this;
    }
    get [Symbol.toStringTag]() {
      return "SqlStorageCursor";
    }
  }

  class SqlStorage {
    exec(query, ...bindings) {
      if (typeof query !== "string") throw new TypeError("sql.exec: the query must be a string");
      return new SqlStorageCursor(host.sqlExec(query, bindings.map(sqlBinding), int64AsBigInt));
    }
    get databaseSize() {
      return host.sqlDatabaseSize();
    }
    get [Symbol.toStringTag]() {
      return "SqlStorage";
    }
  }

  // --- The async KV API (same table as ctx.storage.kv) -----------------------

  const MAX_KEYS = 128;
  const MAX_ENTRY_BYTES = 2 * 1024 * 1024;

  function keyArray(keys, what) {
    if (keys.length > MAX_KEYS) throw new RangeError(`${what}: at most ${MAX_KEYS} keys per call (got ${keys.length})`);
    return keys.map((k) => keyString(k, what));
  }

  function checkedPut(key, value, what) {
    const bytes = serialize(value);
    const keyBytes = host.utf8Encode(key).byteLength;
    if (keyBytes + bytes.length > MAX_ENTRY_BYTES) {
      throw new RangeError(`${what}: key and value together must be at most 2 MiB (got ${keyBytes + bytes.length} bytes)`);
    }
    host.kvPut(key, bytes);
  }

  function inTransaction(fn) {
    host.txBegin();
    let result;
    try {
      result = fn();
    } catch (e) {
      host.txRollback();
      throw e;
    }
    host.txCommit();
    return result;
  }

  class DurableObjectTransaction {
    #storage;
    #rolledBack = false;
    constructor(storage) {
      this.#storage = storage;
    }
    get(k, o) { return this.#storage.get(k, o); }
    put(k, v, o) { return this.#storage.put(k, v, o); }
    delete(k, o) { return this.#storage.delete(k, o); }
    list(o) { return this.#storage.list(o); }
    rollback() {
      this.#rolledBack = true;
    }
    get _rolledBack() {
      return this.#rolledBack;
    }
  }

  class DurableObjectStorage {
    #kv = new SyncKvStorage();
    #sql = new SqlStorage();
    get kv() {
      return this.#kv;
    }
    get sql() {
      return this.#sql;
    }
    async get(keys, _options) {
      if (ArrayIsArray(keys)) {
        const list = keyArray(keys, "storage.get");
        const out = new Map();
        for (const k of list) {
          const b = host.kvGet(k);
          if (b !== undefined) out.set(k, deserialize(new Uint8Array(b)));
        }
        return out;
      }
      return this.#kv.get(keyString(keys, "storage.get"));
    }
    async put(keyOrEntries, value, _options) {
      if (typeof keyOrEntries === "object" && keyOrEntries !== null) {
        const entries = O.entries(keyOrEntries);
        if (entries.length > MAX_KEYS) throw new RangeError(`storage.put: at most ${MAX_KEYS} entries per call (got ${entries.length})`);
        inTransaction(() => {
          for (const [k, v] of entries) checkedPut(k, v, "storage.put");
        });
        return;
      }
      const key = keyString(keyOrEntries, "storage.put");
      if (arguments.length < 2) throw new TypeError("storage.put: missing value");
      checkedPut(key, value, "storage.put");
    }
    async delete(keys, _options) {
      if (ArrayIsArray(keys)) {
        const list = keyArray(keys, "storage.delete");
        return inTransaction(() => {
          let n = 0;
          for (const k of list) if (host.kvDelete(k)) n++;
          return n;
        });
      }
      return host.kvDelete(keyString(keys, "storage.delete"));
    }
    async list(options = {}) {
      return new Map(this.#kv.list(options));
    }
    async deleteAll(_options) {
      host.sqlDeleteAll();
    }
    async sync() {}
    transactionSync(fn) {
      if (typeof fn !== "function") throw new TypeError("transactionSync: expects a function");
      return inTransaction(fn);
    }
    async transaction(fn) {
      if (typeof fn !== "function") throw new TypeError("transaction: expects a function");
      host.txBegin();
      const txn = new DurableObjectTransaction(this);
      let result;
      try {
        result = await fn(txn);
      } catch (e) {
        host.txRollback();
        throw e;
      }
      if (txn._rolledBack) host.txRollback();
      else host.txCommit();
      return result;
    }
    async getAlarm() {
      return null;
    }
    async setAlarm(_t) {
      throw new Error("alarms are not supported by facets yet");
    }
    async deleteAlarm() {}
    get [Symbol.toStringTag]() {
      return "DurableObjectStorage";
    }
  }

  // --- Worker Loader (Dynamic Workers) -----------------------------------------

  function normalizeWorkerCode(code) {
    if (!code || typeof code !== "object") throw new TypeError("the Worker Loader callback must return a WorkerCode object");
    if (typeof code.compatibilityDate !== "string") {
      throw new TypeError('WorkerCode.compatibilityDate is required (e.g. "2026-04-01")');
    }
    const src = code.modules;
    if (!src || typeof src !== "object") throw new TypeError("WorkerCode.modules is required: { name: source, ... }");
    const modules = [];
    for (const name of O.keys(src)) {
      const m = src[name];
      if (typeof m === "string") modules.push([name, "js", m]);
      else if (m && typeof m.js === "string") modules.push([name, "js", m.js]);
      else if (m && typeof m.text === "string") modules.push([name, "text", m.text]);
      else if (m && m.data !== undefined) modules.push([name, "data", toBytes(m.data)]);
      else if (m && m.json !== undefined) modules.push([name, "json", JSONstringify(m.json)]);
      else if (m && m.cjs !== undefined) throw new TypeError(`module "${name}": CommonJS modules are not supported`);
      else throw new TypeError(`module "${name}": expected a string or one of { js, text, data, json }`);
    }
    if (modules.length === 0) throw new TypeError("WorkerCode.modules is empty");
    const mainModule = code.mainModule === undefined ? modules[0][0] : String(code.mainModule);
    if (!modules.some((m) => m[0] === mainModule)) throw new TypeError(`WorkerCode.mainModule "${mainModule}" is not one of the modules`);
    const outbound = code.globalOutbound;
    let outboundStub;
    if (outbound !== undefined && outbound !== null) {
      const id = typeof outbound === "object" ? bindingIds.get(outbound) : undefined;
      if (!id || id[0] !== "stub") {
        throw new TypeError("WorkerCode.globalOutbound must be null (no network), omitted (inherit) or a Durable Object stub");
      }
      outboundStub = [id[1], id[2], id[3]];
    } else if (outbound === undefined && outboundTarget) {
      outboundStub = outboundTarget.slice(); // inherited
    }
    const limits = {};
    if (code.limits !== undefined && code.limits !== null) {
      for (const k of ["cpuMs", "subRequests"]) {
        const v = code.limits[k];
        if (v === undefined) continue;
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new TypeError(`WorkerCode.limits.${k} must be a non-negative integer`);
        limits[k] = v;
      }
    }
    // Bindings at the top level of `env` are handed on (the host checks that
    // the caller holds them); everything else is structured-cloned.
    const bindings = [];
    let plainEnv;
    if (code.env !== undefined && code.env !== null && typeof code.env === "object") {
      plainEnv = {};
      for (const key of O.keys(code.env)) {
        const v = code.env[key];
        const id = typeof v === "object" && v !== null ? bindingIds.get(v) : undefined;
        if (id) bindings.push([key, id[0], id[1]]);
        else plainEnv[key] = v;
      }
    } else {
      plainEnv = code.env;
    }
    return {
      compatibilityDate: code.compatibilityDate,
      compatibilityFlags: (code.compatibilityFlags || []).map(String),
      mainModule,
      modules,
      bindings,
      env: plainEnv === undefined ? undefined : serialize(plainEnv),
      outbound: outboundStub,
      limits,
      blockOutbound: outbound === null || (outbound === undefined && blockOutbound),
    };
  }

  class WorkerStub {
    #binding;
    #id;
    #getCode;
    #key = null;
    constructor(binding, id, getCode) {
      this.#binding = binding;
      this.#id = id;
      this.#getCode = getCode;
    }
    async _key() {
      if (this.#id !== null) {
        if (host.loaderHas(this.#binding, this.#id)) return this.#id;
      } else if (this.#key !== null) {
        return this.#key;
      }
      const code = normalizeWorkerCode(await this.#getCode());
      this.#key = host.loaderLoad(this.#binding, this.#id === null ? undefined : this.#id, code);
      return this.#key;
    }
    getEntrypoint(name, _options) {
      const entry = name === undefined || name === null ? undefined : String(name);
      const self = this;
      const base = {
        async fetch(input, init) {
          const req = requestObject(input, init);
          return fromResponseArray(host.loaderFetch(await self._key(), entry, req));
        },
      };
      return rpcStub(base, async (method, args) => decode(host.loaderCall(await self._key(), entry, method, serialize(args))));
    }
    getDurableObjectClass(name, _options) {
      return new DurableObjectClass(this, name === undefined || name === null ? "default" : String(name));
    }
  }

  class DurableObjectClass {
    constructor(worker, name) {
      O.defineProperty(this, "_worker", { value: worker });
      O.defineProperty(this, "_name", { value: name });
    }
    get [Symbol.toStringTag]() {
      return "DurableObjectClass";
    }
  }

  class WorkerLoader {
    #binding;
    constructor(binding) {
      this.#binding = binding;
      bindingIds.set(this, ["worker-loader", binding]);
    }
    get(id, getCode) {
      if (typeof getCode !== "function") throw new TypeError("LOADER.get(id, callback): the callback must be a function returning WorkerCode");
      return new WorkerStub(this.#binding, String(id), getCode);
    }
    load(code) {
      return new WorkerStub(this.#binding, null, () => code);
    }
  }

  const MAX_FACET_NAME = 256;

  class Facets {
    get(name, getStartupOptions) {
      name = String(name);
      if (name.length === 0 || name.length > MAX_FACET_NAME) {
        throw new RangeError(`facet names must be 1 to ${MAX_FACET_NAME} characters long`);
      }
      if (typeof getStartupOptions !== "function") throw new TypeError("facets.get(name, callback): the callback must be a function");
      let generation = host.facetRunning(name) ?? null;
      const ensure = async () => {
        if (generation !== null) return generation;
        const options = await getStartupOptions();
        const cls = options && options.class;
        if (!(cls instanceof DurableObjectClass)) {
          throw new TypeError("facets.get: the callback must return { class } with a class from worker.getDurableObjectClass()");
        }
        let id = options.id;
        if (id !== undefined && !(id instanceof DurableObjectId)) {
          throw new TypeError("facets.get: the callback's id must be a DurableObjectId (e.g. from idFromName)");
        }
        const key = await cls._worker._key();
        generation = host.facetStart(name, key, cls._name, id === undefined ? undefined : id.toString(), id === undefined ? undefined : id.name);
        return generation;
      };
      const base = {
        async fetch(input, init) {
          const req = requestObject(input, init);
          return fromResponseArray(host.facetFetch(name, await ensure(), req));
        },
      };
      return rpcStub(base, async (method, args) => decode(host.facetCall(name, await ensure(), method, serialize(args))));
    }
    abort(name, reason) {
      host.facetAbort(String(name), reason === undefined ? "the facet was aborted" : reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason));
    }
    delete(name) {
      host.facetDelete(String(name));
    }
  }

  class DurableObjectState {
    #id;
    #storage = new DurableObjectStorage();
    #waitUntil = [];
    #facets = new Facets();
    constructor(id) {
      this.#id = id;
    }
    get facets() {
      return this.#facets;
    }
    get id() {
      return this.#id;
    }
    get storage() {
      return this.#storage;
    }
    get exports() {
      return exportsObject;
    }
    waitUntil(promise) {
      this.#waitUntil.push(Promise.resolve(promise).catch(() => {}));
    }
    async blockConcurrencyWhile(fn) {
      return await fn();
    }
  }

  class ExecutionContext {
    waitUntil(promise) {
      Promise.resolve(promise).catch((e) => console.error("waitUntil:", e));
    }
    passThroughOnException() {}
    get exports() {
      return exportsObject;
    }
    get props() {
      return {};
    }
  }

  class DurableObject {
    constructor(ctx, env) {
      this.ctx = ctx;
      this.env = env;
    }
  }

  class WorkerEntrypoint {
    constructor(ctx, env) {
      this.ctx = ctx;
      this.env = env;
    }
  }

  class RpcTarget {}

  // ---------------------------------------------------------------------------
  // Globals

  // --- crypto ------------------------------------------------------------------
  // Randomness, and crypto.subtle's digests and HMAC (native in crypto.rs).

  const HASHES = { "sha-1": "SHA-1", "sha-256": "SHA-256", "sha-384": "SHA-384", "sha-512": "SHA-512" };
  // The block size in bits: an HMAC key's default length in generateKey.
  const HASH_BLOCK_BITS = { "SHA-1": 512, "SHA-256": 512, "SHA-384": 1024, "SHA-512": 1024 };
  const KEY_USAGES = ["encrypt", "decrypt", "sign", "verify", "deriveKey", "deriveBits", "wrapKey", "unwrapKey"];

  function algorithmName(algorithm) {
    if (typeof algorithm === "string") return algorithm;
    if (algorithm !== null && typeof algorithm === "object") {
      if (algorithm.name === undefined) throw new TypeError("algorithm: the name member is required");
      return String(algorithm.name);
    }
    throw new TypeError("algorithm: expected a string or an object with a name");
  }

  function hashName(algorithm) {
    const name = algorithmName(algorithm);
    const hash = HASHES[name.toLowerCase()];
    if (hash === undefined) throw makeError("NotSupportedError", `Unrecognized or unimplemented hash algorithm "${name}"`);
    return hash;
  }

  // The HMAC algorithm of sign/verify/importKey/generateKey, normalized.
  function hmacAlgorithm(algorithm) {
    const name = algorithmName(algorithm);
    if (name.toLowerCase() !== "hmac") {
      throw makeError("NotSupportedError", `Unrecognized or unimplemented algorithm "${name}" (facets supports HMAC)`);
    }
    return "HMAC";
  }

  // A copy of the bytes of `data` (BufferSource), taken before any await.
  function bufferSource(data, what) {
    try {
      return toBytes(data).slice();
    } catch {
      throw new TypeError(`${what}: expected an ArrayBuffer or an ArrayBuffer view`);
    }
  }

  function checkUsages(usages, allowed) {
    if (usages === null || typeof usages !== "object" || typeof usages[Symbol.iterator] !== "function") {
      throw new TypeError("keyUsages: expected a sequence of strings");
    }
    const list = [];
    for (const u of usages) {
      const usage = String(u);
      if (!KEY_USAGES.includes(usage)) throw new TypeError(`keyUsages: "${usage}" is not a valid key usage`);
      if (!allowed.includes(usage)) throw makeError("SyntaxError", `keyUsages: "${usage}" is not allowed for this key`);
      if (!list.includes(usage)) list.push(usage);
    }
    if (list.length === 0) throw makeError("SyntaxError", "keyUsages: a secret key needs at least one usage");
    return list;
  }

  // CryptoKey -> { name, hash, bytes, usages, extractable }: what the operations
  // trust (not the key's getters, which user code could redefine).
  const keyMaterial = new WeakMap();
  let constructingKey = false;

  class CryptoKey {
    #type;
    #extractable;
    #algorithm;
    #usages;
    constructor(type, extractable, algorithm, usages) {
      if (!constructingKey) throw new TypeError("Illegal constructor");
      this.#type = type;
      this.#extractable = extractable;
      this.#algorithm = algorithm;
      this.#usages = usages;
    }
    get type() {
      return this.#type;
    }
    get extractable() {
      return this.#extractable;
    }
    get algorithm() {
      return this.#algorithm;
    }
    get usages() {
      return this.#usages;
    }
    get [Symbol.toStringTag]() {
      return "CryptoKey";
    }
  }

  function hmacKey(hash, bytes, length, extractable, usages) {
    constructingKey = true;
    let key;
    try {
      key = new CryptoKey("secret", !!extractable, { name: "HMAC", hash: { name: hash }, length }, usages);
    } finally {
      constructingKey = false;
    }
    keyMaterial.set(key, { name: "HMAC", hash, bytes, usages: usages.slice(), extractable: !!extractable });
    return key;
  }

  // The key material of `key`, checking it is an HMAC key allowed `usage`.
  function useKey(key, algorithm, usage) {
    const name = hmacAlgorithm(algorithm);
    const material = keyMaterial.get(key);
    if (material === undefined) throw new TypeError("key: expected a CryptoKey");
    if (material.name !== name) {
      throw makeError("InvalidAccessError", `The requested operation is not valid for the key's algorithm (${material.name})`);
    }
    if (!material.usages.includes(usage)) {
      throw makeError("InvalidAccessError", `The key does not support the "${usage}" operation`);
    }
    return material;
  }

  // The key length in bits of an HMAC import or generation.
  function hmacLength(algorithm, dataBits) {
    if (algorithm.length === undefined) return dataBits;
    const length = Number(algorithm.length);
    if (!Number.isInteger(length) || length <= 0) throw makeError("DataError", "HMAC: invalid key length");
    if (dataBits !== undefined && (length > dataBits || length <= dataBits - 8)) {
      throw makeError("DataError", "HMAC: the key length does not match the key data");
    }
    return length;
  }

  class SubtleCrypto {
    constructor() {
      if (!constructingKey) throw new TypeError("Illegal constructor");
    }
    async digest(algorithm, data) {
      const hash = hashName(algorithm);
      return host.digest(hash, bufferSource(data, "digest"));
    }
    async importKey(format, keyData, algorithm, extractable, keyUsages) {
      format = String(format);
      hmacAlgorithm(algorithm);
      if (format !== "raw") {
        throw makeError("NotSupportedError", `importKey: unsupported key format "${format}" (facets supports "raw")`);
      }
      const bytes = bufferSource(keyData, "importKey");
      if (algorithm.hash === undefined) throw new TypeError("HMAC: the hash member is required");
      const hash = hashName(algorithm.hash);
      const usages = checkUsages(keyUsages, ["sign", "verify"]);
      if (bytes.length === 0) throw makeError("DataError", "HMAC: the key data must not be empty");
      const length = hmacLength(algorithm, bytes.length * 8);
      return hmacKey(hash, bytes, length, extractable, usages);
    }
    async generateKey(algorithm, extractable, keyUsages) {
      hmacAlgorithm(algorithm);
      if (algorithm.hash === undefined) throw new TypeError("HMAC: the hash member is required");
      const hash = hashName(algorithm.hash);
      const usages = checkUsages(keyUsages, ["sign", "verify"]);
      const length = hmacLength(algorithm, undefined) ?? HASH_BLOCK_BITS[hash];
      const bytes = new Uint8Array(host.randomBytes(Math.ceil(length / 8)));
      if (length % 8 !== 0) bytes[bytes.length - 1] &= 0xff << (8 - (length % 8));
      return hmacKey(hash, bytes, length, extractable, usages);
    }
    async exportKey(format, key) {
      format = String(format);
      const material = keyMaterial.get(key);
      if (material === undefined) throw new TypeError("exportKey: expected a CryptoKey");
      if (format !== "raw") {
        throw makeError("NotSupportedError", `exportKey: unsupported key format "${format}" (facets supports "raw")`);
      }
      if (!material.extractable) throw makeError("InvalidAccessError", "exportKey: the key is not extractable");
      return material.bytes.slice().buffer;
    }
    async sign(algorithm, key, data) {
      const bytes = bufferSource(data, "sign");
      const material = useKey(key, algorithm, "sign");
      return host.hmacSign(material.hash, material.bytes, bytes);
    }
    async verify(algorithm, key, signature, data) {
      const sig = bufferSource(signature, "verify");
      const bytes = bufferSource(data, "verify");
      const material = useKey(key, algorithm, "verify");
      return host.hmacVerify(material.hash, material.bytes, sig, bytes);
    }
  }

  let subtle;
  constructingKey = true;
  try {
    subtle = new SubtleCrypto();
  } finally {
    constructingKey = false;
  }

  const crypto = {
    subtle,
    getRandomValues(array) {
      if (!isView(array) || array instanceof Float32Array || array instanceof Float64Array || array instanceof DataView) {
        throw makeError("TypeMismatchError", "getRandomValues: expected an integer typed array");
      }
      if (array.byteLength > 65536) {
        throw makeError("QuotaExceededError", `getRandomValues: the array's byte length (${array.byteLength}) exceeds 65536`);
      }
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(new Uint8Array(host.randomBytes(array.byteLength)));
      return array;
    },
    randomUUID() {
      const b = new Uint8Array(host.randomBytes(16));
      b[6] = (b[6] & 0x0f) | 0x40;
      b[8] = (b[8] & 0x3f) | 0x80;
      let h = "";
      for (let i = 0; i < 16; i++) {
        h += (b[i] < 16 ? "0" : "") + b[i].toString(16);
        if (i === 3 || i === 5 || i === 7 || i === 9) h += "-";
      }
      return h;
    },
  };

  async function fetch(input, init) {
    const req = requestObject(input, init);
    if (outboundTarget) {
      return fromResponseArray(host.stubFetch(outboundTarget[0], outboundTarget[1], outboundTarget[2], req));
    }
    if (blockOutbound) {
      throw new Error("fetch() is blocked: this worker was loaded with globalOutbound: null, so it has no network access");
    }
    throw new Error("fetch(): outbound requests are not supported by facets yet");
  }

  const globals = {
    crypto,
    fetch,
    Headers, Request, Response, URL, URLSearchParams, TextEncoder, TextDecoder, console, structuredClone,
    btoa, atob, CryptoKey, SubtleCrypto,
  };
  for (const [k, v] of O.entries(globals)) {
    O.defineProperty(globalThis, k, { value: v, writable: true, enumerable: false, configurable: true });
  }
  O.defineProperty(globalThis, "self", { value: globalThis, writable: true, enumerable: false, configurable: true });

  // ---------------------------------------------------------------------------
  // Dispatch (called by the Rust half).

  const env = {};
  const exportsObject = {};
  let worker = null;
  let object = null;
  let blockOutbound = false;
  let outboundTarget = null; // [binding, hex, name] of a globalOutbound stub

  // The target of an event sent to an entrypoint (kind 0: default export, 2: named).
  function entrypoint(kind, name) {
    const label = kind === 0 ? "default" : name;
    const exp = kind === 0 ? worker.default : worker[name];
    if (exp === undefined || exp === null) throw new TypeError(`the worker has no export named "${label}"`);
    if (typeof exp === "function" && exp.prototype instanceof WorkerEntrypoint) {
      return { instance: new exp(new ExecutionContext(), env), plain: false };
    }
    if (typeof exp === "function" && exp.prototype instanceof DurableObject) {
      throw new TypeError(`export "${label}" is a Durable Object class, not an entrypoint`);
    }
    return { instance: exp, plain: true };
  }

  function rpcMethod(target, method, what) {
    if (NOT_RPC.has(method) || method.startsWith("__")) throw new TypeError(`${what}: "${method}" cannot be called over RPC`);
    const f = target[method];
    if (typeof f !== "function" || f === O.prototype[method]) {
      throw new TypeError(`${what} does not have a method named "${method}"`);
    }
    return f;
  }

  function checkResponse(res, where) {
    if (!(res instanceof Response)) {
      throw new TypeError(`${where} did not return a Response (got ${inspect(res, 1, [])})`);
    }
    return res;
  }

  async function responseParts(res) {
    const bytes = res.bodyUsed ? new Uint8Array(0) : res._take();
    return [res.status, res.statusText, headerPairs(res.headers), bytes];
  }

  return {
    DurableObject,
    WorkerEntrypoint,
    RpcTarget,
    env,
    serialize,
    deserialize,
    setup(bindings, exported, compatibilityFlags, envBytes, noOutbound, outbound) {
      if (outbound !== undefined) outboundTarget = outbound;
      int64AsBigInt = compatibilityFlags.includes("sql_int64_as_bigint");
      blockOutbound = !!noOutbound;
      if (envBytes !== undefined) O.assign(env, deserialize(envBytes));
      for (const [name, kind, value] of bindings) {
        if (kind === "json") env[name] = JSONparse(value);
        else if (kind === "durable-object-namespace") env[name] = new DurableObjectNamespace(value);
        else if (kind === "worker-loader") env[name] = new WorkerLoader(value);
      }
      for (const cls of exported) exportsObject[cls] = new DurableObjectNamespace("export:" + cls);
    },
    setWorker(namespace) {
      worker = namespace;
    },
    startObject(className, hex, name) {
      const Cls = worker[className];
      if (typeof Cls !== "function") {
        throw new TypeError(`the worker does not export a Durable Object class named "${className}"`);
      }
      object = new Cls(new DurableObjectState(new DurableObjectId(hex, name)), env);
    },
    async fetch(kind, exportName, method, url, headers, body) {
      const request = new Request(url, { method, headers, body: body === undefined || method === "GET" || method === "HEAD" ? null : body });
      let res;
      if (kind === 1) {
        if (!object) throw new Error("no Durable Object is running in this instance");
        if (typeof object.fetch !== "function") {
          throw new TypeError(`Durable Object class ${object.constructor.name} has no fetch() method`);
        }
        res = checkResponse(await object.fetch(request), `${object.constructor.name}.fetch()`);
      } else {
        const { instance, plain } = entrypoint(kind, exportName);
        if (!instance || typeof instance.fetch !== "function") {
          throw new TypeError(`the entrypoint "${kind === 0 ? "default" : exportName}" has no fetch() handler`);
        }
        res = plain ? await instance.fetch(request, env, new ExecutionContext()) : await instance.fetch(request);
        checkResponse(res, "fetch handler");
      }
      return responseParts(res);
    },
    async call(kind, exportName, method, argsBytes) {
      const args = deserialize(argsBytes);
      let target;
      let what;
      if (kind === 1) {
        if (!object) throw new Error("no Durable Object is running in this instance");
        target = object;
        what = `Durable Object ${object.constructor.name}`;
      } else {
        const { instance, plain } = entrypoint(kind, exportName);
        if (plain) throw new TypeError(`export "${kind === 0 ? "default" : exportName}" is not a WorkerEntrypoint class, so it has no RPC methods`);
        target = instance;
        what = `entrypoint ${instance.constructor.name}`;
      }
      const f = rpcMethod(target, method, what);
      const result = await f.apply(target, args);
      return serialize(result);
    },
  };
});
