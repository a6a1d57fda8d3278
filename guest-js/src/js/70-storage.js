
  function keyString(key, what) {
    if (typeof key !== "string") throw new TypeError(`${what}: keys must be strings`);
    return key;
  }

  class SyncKvStorage {
    // Plain data is read and written by the host in one call (kvGetValue,
    // kvPutValue in bridge.rs); the rest here.
    get(key) {
      const v = host.kvGetValue(keyString(key, "kv.get"));
      return v instanceof Uint8Array ? deserializeInJs(v) : v;
    }
    put(key, value) {
      key = keyString(key, "kv.put");
      // (Not plain data, or over the size limit: the JS writer, which does
      // not try Rust's again.)
      if (!host.kvPutValue(key, value, O.prototype)) putBytes(key, serializeInJs(value), "kv.put");
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
      for (const [k, v] of rows) yield [k, deserialize(v)];
    }
  }

  // --- SQL -------------------------------------------------------------------

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
      return new SqlStorageCursor(host.sqlExec(query, bindings.map(sqlBinding), inst.int64AsBigInt));
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
    putBytes(key, serialize(value), what);
  }

  // Stores a value's bytes, unless the entry is over MAX_ENTRY_BYTES.
  function putBytes(key, bytes, what) {
    // A key's UTF-8 form is at most 3 bytes per UTF-16 unit: count exactly only near the limit.
    const keyBytes = key.length * 3 + bytes.length <= MAX_ENTRY_BYTES ? 0 : host.utf8Encode(key).byteLength;
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
          if (b !== undefined) out.set(k, deserialize(b));
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

