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
    return { method: req.method, url: req.url, headers: messageHeaderPairs(req), body };
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

  // A Response from the host's parts (another instance's response, checked by
  // its runtime, or an outbound response, checked by hyper).
  function makeResponse(status, statusText, headers, body) {
    return new Response(TRUSTED, [status < 200 ? 200 : status, statusText, headers, nullBodyStatus(status) ? null : new Uint8Array(body)]);
  }

  // Binding objects → [kind, host id], so that `env` can hand them on.
  const bindingIds = () => (inst.bindingIds ??= new WeakMap());

  class DurableObjectNamespace {
    #binding;
    #ids = null; // name -> hex of the ids derived lately (the derivation is fixed)
    constructor(binding) {
      this.#binding = binding;
      bindingIds().set(this, ["durable-object-namespace", binding]);
    }
    idFromName(name) {
      name = String(name);
      const ids = (this.#ids ??= new Map());
      const hex = ids.get(name);
      if (hex !== undefined) return new DurableObjectId(hex, name);
      const r = host.idFromName(this.#binding, name);
      if (ids.size >= 64) ids.clear();
      ids.set(name, r[0]);
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
      bindingIds().set(proxy, ["stub", this.#binding, id.toString(), id.name]);
      return proxy;
    }
    getByName(name, options) {
      return this.get(this.idFromName(name), options);
    }
    jurisdiction(_j) {
      return this;
    }
  }
