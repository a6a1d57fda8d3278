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
      // Little-endian two's complement, as DataView.setInt32(…, true) writes
      // it, without making a DataView for the common small integers.
      this.ensure(4);
      const b = this.buf;
      const p = this.len;
      b[p] = n & 255;
      b[p + 1] = (n >> 8) & 255;
      b[p + 2] = (n >> 16) & 255;
      b[p + 3] = (n >>> 24) & 255;
      this.len = p + 4;
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
    const cls = classOf(v); // (one native call instead of a brand check per class)
    if (cls === CLASS.ARRAY_BUFFER) {
      w.byte(T.ABUF);
      w.raw(new Uint8Array(v));
      return;
    }
    if (cls === CLASS.DATE) {
      w.byte(T.DATE);
      w.f64(dateGetTime.call(v));
      return;
    }
    if (cls === CLASS.MAP) {
      w.byte(T.MAP);
      w.varint(mapSize.call(v));
      for (const [k, val] of mapEntries.call(v)) {
        writeValue(w, k, seen);
        writeValue(w, val, seen);
      }
      return;
    }
    if (cls === CLASS.SET) {
      w.byte(T.SET);
      w.varint(setSize.call(v));
      for (const val of setValues.call(v)) writeValue(w, val, seen);
      return;
    }
    if (v !== RegExp.prototype && cls === CLASS.REGEXP) {
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
    if (cls === CLASS.NUMBER) {
      w.byte(T.BOX_NUMBER);
      w.f64(numberValueOf.call(v));
      return;
    }
    if (cls === CLASS.STRING) {
      w.byte(T.BOX_STRING);
      w.str(stringValueOf.call(v));
      return;
    }
    if (cls === CLASS.BOOLEAN) {
      w.byte(T.BOX_BOOLEAN);
      w.byte(booleanValueOf.call(v) ? 1 : 0);
      return;
    }
    if (cls === CLASS.BIGINT) {
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
    // Small integers and booleans (the commonest stored values) directly.
    // (Stored one by one: a typed array made from an array literal goes
    // through the array's iterator, several times the cost.)
    if (typeof value === "number" && (value | 0) === value && (value !== 0 || 1 / value > 0)) {
      const b = new Uint8Array(6);
      b[0] = CLONE_VERSION;
      b[1] = T.INT;
      b[2] = value;
      b[3] = value >> 8;
      b[4] = value >> 16;
      b[5] = value >>> 24;
      return b;
    }
    if (typeof value === "boolean") {
      const b = new Uint8Array(2);
      b[0] = CLONE_VERSION;
      b[1] = value ? T.TRUE : T.FALSE;
      return b;
    }
    // Plain data (primitives, arrays and plain objects of them) in Rust, the
    // same bytes for a small part of the cost; anything else here.
    const bytes = host.cloneWrite(value, O.prototype);
    return bytes !== undefined ? bytes : serializeInJs(value);
  }

  // What the Rust writer left to JS (anything but plain data).
  function serializeInJs(value) {
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
      this.desc = null;
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
      const b = this.buf;
      const p = this.pos;
      if (p + 4 > b.length) throw makeError("DataCloneError", "truncated value");
      this.pos = p + 4;
      return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
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
            // Own data properties whatever Object.prototype holds ("__proto__"
            // included); one descriptor without a prototype, reused (made per
            // Reader: a shared one would dirty a page of the engine image).
            const d = (this.desc ??= { __proto__: null, value: undefined, writable: true, enumerable: true, configurable: true });
            d.value = this.value();
            O.defineProperty(o, k, d);
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

  // What host.cloneRead answers when the bytes are not plain data (or not
  // well formed): the Reader below reads them, or says what is wrong.
  const NOT_READ = O.freeze({});

  function deserialize(bytes) {
    if (bytes.length === 6 && bytes[0] === CLONE_VERSION && bytes[1] === T.INT) {
      return bytes[2] | (bytes[3] << 8) | (bytes[4] << 16) | (bytes[5] << 24);
    }
    const v = host.cloneRead(bytes, NOT_READ);
    return v !== NOT_READ ? v : deserializeInJs(bytes);
  }

  // What the Rust reader left to JS (not plain data, or not well formed).
  function deserializeInJs(bytes) {
    const r = new Reader(bytes);
    const version = r.byte();
    if (version !== CLONE_VERSION) throw makeError("DataCloneError", `unknown value format ${version}`);
    return r.value();
  }

  function structuredClone(value) {
    return deserialize(serialize(value));
  }

