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
      const id = typeof outbound === "object" ? bindingOf(outbound) : undefined;
      if (!id || id[0] !== "stub") {
        throw new TypeError("WorkerCode.globalOutbound must be null (no network), omitted (inherit) or a Durable Object stub");
      }
      outboundStub = [id[1], id[2], id[3]];
    } else if (outbound === undefined && inst.outboundTarget) {
      outboundStub = inst.outboundTarget.slice(); // inherited
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
        const id = typeof v === "object" && v !== null ? bindingOf(v) : undefined;
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
      blockOutbound: outbound === null || (outbound === undefined && inst.blockOutbound),
    };
  }

  // (Functions of the classes' static blocks rather than methods: workerd's
  // WorkerStub and DurableObjectClass show no members of the runtime's own.)
  let workerKey; // (stub) -> a promise of the loader's key for its code, loading it first if need be
  let classParts; // (value) -> [its WorkerStub, its class name] for a DurableObjectClass, else undefined
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
    static {
      workerKey = async (stub) => {
        if (stub.#id !== null) {
          if (host.loaderHas(stub.#binding, stub.#id)) return stub.#id;
        } else if (stub.#key !== null) {
          return stub.#key;
        }
        const code = normalizeWorkerCode(await stub.#getCode());
        stub.#key = host.loaderLoad(stub.#binding, stub.#id === null ? undefined : stub.#id, code);
        return stub.#key;
      };
    }
    get [Symbol.toStringTag]() {
      return "WorkerStub";
    }
    getEntrypoint(name, _options) {
      return new EntrypointStub(this, name === undefined || name === null ? undefined : String(name));
    }
    getDurableObjectClass(name, _options) {
      return new DurableObjectClass(this, name === undefined || name === null ? "default" : String(name));
    }
  }

  // `worker.getEntrypoint(name)`: fetch and RPC methods of an entrypoint of
  // loaded code (see rpcMethods).
  let entrypointCall;
  class EntrypointStub {
    #worker;
    #entry; // undefined: the default export
    constructor(worker, entry) {
      this.#worker = worker;
      this.#entry = entry;
    }
    static {
      entrypointCall = async (stub, method, args) =>
        decode(host.loaderCall(await workerKey(stub.#worker), stub.#entry, method, serialize(args)));
    }
    async fetch(input, init) {
      if (this === null || typeof this !== "object" || !(#worker in this)) throw new TypeError(ILLEGAL_INVOCATION);
      const req = requestObject(input, init);
      return fromResponseArray(host.loaderFetch(await workerKey(this.#worker), this.#entry, req));
    }
  }
  O.setPrototypeOf(EntrypointStub.prototype, rpcMethods(entrypointCall));

  class DurableObjectClass {
    #worker;
    #name;
    constructor(worker, name) {
      this.#worker = worker;
      this.#name = name;
    }
    static {
      classParts = (v) => (v !== null && typeof v === "object" && #worker in v ? [v.#worker, v.#name] : undefined);
    }
    get [Symbol.toStringTag]() {
      return "DurableObjectClass";
    }
  }

  class WorkerLoader {
    #binding;
    constructor(binding) {
      this.#binding = binding;
      bindingIds().set(this, ["worker-loader", binding]);
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

  // `ctx.facets.get(name, callback)`: the facet's fetch and RPC methods (see
  // rpcMethods). The facet is started on first use, unless it was running.
  let facetCall;
  let facetEnsure; // (stub) -> a promise of the running facet's generation
  let facetFetchStarting; // (stub, request parts) -> a promise of the Response
  class FacetStub {
    #name;
    #generation; // of the running facet, or null until it is started
    #getStartupOptions;
    constructor(name, generation, getStartupOptions) {
      this.#name = name;
      this.#generation = generation;
      this.#getStartupOptions = getStartupOptions;
    }
    static {
      facetCall = (stub, method, args) => {
        const g = stub.#generation;
        if (g !== null) return decode(host.facetCall(stub.#name, g, method, serialize(args)));
        // (An await, not `.then`: code may have replaced Promise.prototype.then.)
        return (async () => decode(host.facetCall(stub.#name, await facetEnsure(stub), method, serialize(args))))();
      };
      // Starts the facet unless it runs; its generation. (A function rather
      // than a private method: a class with private methods stamps each new
      // instance with its brand.)
      facetEnsure = async (stub) => {
        if (stub.#generation !== null) return stub.#generation;
        const options = await stub.#getStartupOptions();
        const cls = classParts(options && options.class);
        if (cls === undefined) {
          throw new TypeError("facets.get: the callback must return { class } with a class from worker.getDurableObjectClass()");
        }
        const id = options.id;
        if (id !== undefined && !(id instanceof DurableObjectId)) {
          throw new TypeError("facets.get: the callback's id must be a DurableObjectId (e.g. from idFromName)");
        }
        const key = await workerKey(cls[0]);
        stub.#generation = host.facetStart(stub.#name, key, cls[1], id === undefined ? undefined : id.toString(), id === undefined ? undefined : id.name);
        return stub.#generation;
      };
      facetFetchStarting = async (stub, req) => fromResponseArray(host.facetFetch(stub.#name, await facetEnsure(stub), req));
    }
    fetch(input, init) {
      try {
        const g = this.#generation;
        if (g === null) return facetFetchStarting(this, requestObject(input, init));
        return asPromise(fromResponseArray(host.facetFetch(this.#name, g, requestObject(input, init))));
      } catch (e) {
        return promiseReject.call(IntrinsicPromise, this !== null && typeof this === "object" && #name in this ? e : new TypeError(ILLEGAL_INVOCATION));
      }
    }
  }
  O.setPrototypeOf(FacetStub.prototype, rpcMethods(facetCall));

  class Facets {
    get(name, getStartupOptions) {
      name = String(name);
      if (name.length === 0 || name.length > MAX_FACET_NAME) {
        throw new RangeError(`facet names must be 1 to ${MAX_FACET_NAME} characters long`);
      }
      if (typeof getStartupOptions !== "function") throw new TypeError("facets.get(name, callback): the callback must be a function");
      return new FacetStub(name, host.facetRunning(name) ?? null, getStartupOptions);
    }
    abort(name, reason) {
      host.facetAbort(String(name), reason === undefined ? "the facet was aborted" : reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason));
    }
    delete(name) {
      host.facetDelete(String(name));
    }
    // facets extension (not on Cloudflare): the metered usage of facet `name`, or null.
    usage(name) {
      const json = host.facetUsage(String(name));
      return json === undefined || json === null ? null : JSON.parse(json);
    }
  }

  // An instance runs one Durable Object (a facet runs in an instance of its
  // own), so its `ctx.storage` and `ctx.facets`, which keep no state of
  // their own, are made once here, at pre-initialization: part of the
  // shared image, not made again for every object.
  const objectStorage = new DurableObjectStorage();
  const objectFacets = new Facets();

  class DurableObjectState {
    #id;
    constructor(id) {
      this.#id = id;
    }
    get facets() {
      return objectFacets;
    }
    get id() {
      return this.#id;
    }
    get storage() {
      return objectStorage;
    }
    get exports() {
      return exportsObject;
    }
    waitUntil(promise) {
      addWaitUntil(promise);
    }
    async blockConcurrencyWhile(fn) {
      return await fn();
    }
  }

  class ExecutionContext {
    waitUntil(promise) {
      addWaitUntil(promise);
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

