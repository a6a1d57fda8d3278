  // ---------------------------------------------------------------------------
  // Durable Objects: ids, namespaces, stubs, state, storage.

  // --- RPC ------------------------------------------------------------------

  const NOT_RPC = new Set(["constructor", "then", "catch", "finally", "toJSON", "valueOf", "toString"]);

  // An RPC answer from the host: the value (plain data, read in Rust), or
  // the bytes of anything else, a Uint8Array, for the JS reader.
  const decode = (v) => (v instanceof Uint8Array ? deserializeInJs(v) : v);

  // An answer that may be a thenable, as a promise, as `await` makes one
  // (with the intrinsics of start-up: code may replace the globals).
  const IntrinsicPromise = Promise;
  const promiseResolve = Promise.resolve;
  const promiseReject = Promise.reject;
  const asPromise = (value) => promiseResolve.call(IntrinsicPromise, value);

  // `f(a, b, c)` as a promise, its throw as a rejection: what an async
  // function gives, for less (stubs call the host synchronously).
  function promised(f, a, b, c) {
    try {
      return asPromise(f(a, b, c));
    } catch (e) {
      return promiseReject.call(IntrinsicPromise, e);
    }
  }

  // A stub's method called on something else (workerd's message).
  const ILLEGAL_INVOCATION = "Illegal invocation: function called with incorrect `this` reference";

  // The end of a stub class's prototype chain: a name found nowhere before
  // it is an RPC method, called as `call(stub, name, args)`, except symbols,
  // Object.prototype's members and NOT_RPC (a stub is not a thenable). A
  // stub's own members (fetch, id, ...) are plain methods and getters of its
  // class, found first: no trap, no bound function, no Proxy per stub.
  function rpcMethods(call) {
    return new Proxy(
      {},
      {
        get(target, prop, receiver) {
          if (typeof prop === "symbol" || prop in target) return Reflect.get(target, prop, receiver);
          if (NOT_RPC.has(prop)) return undefined;
          return (...args) => promised(call, receiver, prop, args);
        },
      },
    );
  }

  // A request for the host (see requestWire in 40-fetch-api.js and
  // to_request in bridge.rs).
  function requestObject(input, init) {
    const req = input instanceof Request && init === undefined ? input : new Request(input, init);
    return requestWire(req);
  }

  // A Response from another instance's answer: the parts the host made
  // for it (see response_parts in bridge.rs), kept as they are.
  function fromResponseArray(r) {
    return new Response(TRUSTED, r);
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

  let stubCall; // (stub, method, args) -> the decoded answer
  let stubBinding; // (value) -> ["stub", binding, hex, name] if it is a Durable Object stub

  class DurableObjectStub {
    #binding;
    #id;
    constructor(binding, id) {
      this.#binding = binding;
      this.#id = id;
    }
    static {
      stubCall = (stub, method, args) =>
        decode(host.stubCall(stub.#binding, stub.#id.toString(), stub.#id.name, method, serialize(args)));
      stubBinding = (v) => (v !== null && typeof v === "object" && #binding in v ? ["stub", v.#binding, v.#id.toString(), v.#id.name] : undefined);
    }
    get [Symbol.toStringTag]() {
      return "DurableObject";
    }
    get id() {
      return this.#id;
    }
    get name() {
      return this.#id.name;
    }
    fetch(input, init) {
      try {
        return asPromise(fromResponseArray(host.stubFetch(this.#binding, this.#id.toString(), this.#id.name, requestObject(input, init))));
      } catch (e) {
        return promiseReject.call(IntrinsicPromise, stubBinding(this) === undefined ? new TypeError(ILLEGAL_INVOCATION) : e);
      }
    }
  }
  O.setPrototypeOf(DurableObjectStub.prototype, rpcMethods(stubCall));

  // A Response from the host's parts of an outbound response (checked by
  // hyper); another instance's comes as a Response's parts (fromResponseArray).
  function makeResponse(status, statusText, headers, body) {
    return new Response(TRUSTED, [status < 200 ? 200 : status, statusText, headers, nullBodyStatus(status) ? null : new Uint8Array(body), null, false]);
  }

  // Binding objects → [kind, host id], so that `env` can hand them on.
  const bindingIds = () => (inst.bindingIds ??= new WeakMap());
  // [kind, host id...] of a binding or a stub, or undefined.
  const bindingOf = (v) => stubBinding(v) ?? bindingIds().get(v);

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
      return new DurableObjectStub(this.#binding, id);
    }
    getByName(name, options) {
      return this.get(this.idFromName(name), options);
    }
    jurisdiction(_j) {
      return this;
    }
  }
