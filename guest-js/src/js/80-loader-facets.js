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
      const id = typeof outbound === "object" ? bindingIds().get(outbound) : undefined;
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
        const id = typeof v === "object" && v !== null ? bindingIds().get(v) : undefined;
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
          return fromResponseArray(host.facetFetch(name, generation ?? (await ensure()), req));
        },
      };
      return rpcStub(base, async (method, args) => decode(host.facetCall(name, generation ?? (await ensure()), method, serialize(args))));
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

  class DurableObjectState {
    #id;
    #storage = new DurableObjectStorage();
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

