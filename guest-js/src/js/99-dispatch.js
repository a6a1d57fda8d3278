  // ---------------------------------------------------------------------------
  // Dispatch (called by the Rust half).

  // The target of an event sent to an entrypoint (kind 0: default export,
  // 2: named): a new instance of a WorkerEntrypoint class, or else the
  // export itself, "plain" (its handlers take env and ctx as arguments).
  function entrypoint(kind, name) {
    const exp = kind === 0 ? inst.worker.default : inst.worker[name];
    if (exp === undefined || exp === null) throw new TypeError(`the worker has no export named "${kind === 0 ? "default" : name}"`);
    if (typeof exp !== "function") return exp;
    if (exp.prototype instanceof WorkerEntrypoint) return new exp(new ExecutionContext(), env);
    if (exp.prototype instanceof DurableObject) {
      throw new TypeError(`export "${kind === 0 ? "default" : name}" is a Durable Object class, not an entrypoint`);
    }
    return exp;
  }

  // Whether an entrypoint's target is plain (see entrypoint).
  const isPlain = (target) => !(target instanceof WorkerEntrypoint);

  function rpcMethod(target, method, what) {
    if (NOT_RPC.has(method) || method.startsWith("__")) throw new TypeError(`${what}: "${method}" cannot be called over RPC`);
    const f = target[method];
    if (typeof f !== "function" || f === O.prototype[method]) {
      throw new TypeError(`${what} does not have a method named "${method}"`);
    }
    return f;
  }

  // The parts of the Response `res` that a `fetch` handler of `kind`
  // answered with (see Body in 40-fetch-api.js), or a TypeError.
  function checkResponse(res, kind) {
    const p = responsePartsOf(res);
    if (p === undefined) {
      const where = kind === 1 ? `${inst.object.constructor.name}.fetch()` : "fetch handler";
      throw new TypeError(`${where} did not return a Response (got ${inspect(res, 1, [])})`);
    }
    return p;
  }

  // (asPromise: see 60-objects.js.)

  // An empty body, sent as it is (the host copies it).
  const NO_BYTES = new Uint8Array(0);

  // [status, statusText, header pairs, body bytes, streamed] of a
  // Response's parts. A used body goes out empty.
  function responseParts(p) {
    inst.streamedBody = null;
    const h = p[2];
    const pairs = h instanceof Headers ? headerPairs(h) : h;
    const src = bodyOut(p);
    if (src === null) return [p[0], p[1], pairs, NO_BYTES, false];
    if (src instanceof Uint8Array) return [p[0], p[1], pairs, src, false];
    inst.streamedBody = src.getReader();
    return [p[0], p[1], pairs, NO_BYTES, true];
  }

  return {
    DurableObject,
    WorkerEntrypoint,
    RpcTarget,
    env,
    serialize,
    deserialize,
    setup(bindings, exported, compatibilityFlags, envBytes, noOutbound, outbound) {
      startClock();
      if (outbound !== undefined) inst.outboundTarget = outbound;
      inst.int64AsBigInt = compatibilityFlags.includes("sql_int64_as_bigint");
      inst.blockOutbound = !!noOutbound;
      if (envBytes !== undefined) O.assign(env, deserialize(envBytes));
      for (const [name, kind, value] of bindings) {
        if (kind === "json") env[name] = JSONparse(value);
        else if (kind === "durable-object-namespace") env[name] = new DurableObjectNamespace(value);
        else if (kind === "worker-loader") env[name] = new WorkerLoader(value);
      }
      for (const cls of exported) exportsObject[cls] = new DurableObjectNamespace("export:" + cls);
    },
    loopTurn,
    ioComplete,
    drain: drainWaitUntil,
    async pull() {
      const reader = inst.streamedBody;
      if (!reader) return undefined;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            inst.streamedBody = null;
            return undefined;
          }
          const chunk = bodyChunk(value);
          if (chunk.byteLength > 0) return chunk;
        }
      } catch (e) {
        inst.streamedBody = null;
        throw e;
      }
    },
    async cancelBody() {
      const reader = inst.streamedBody;
      inst.streamedBody = null;
      if (reader) await reader.cancel(new Error("the client went away")).catch(() => {});
    },
    setWorker(namespace) {
      inst.worker = namespace;
    },
    startObject(className, hex, name) {
      const Cls = inst.worker[className];
      if (typeof Cls !== "function") {
        throw new TypeError(`the worker does not export a Durable Object class named "${className}"`);
      }
      inst.object = new Cls(new DurableObjectState(new DurableObjectId(hex, name)), env);
    },
    // Runs `fetch` of the entry and returns the handler's answer: a Response
    // or a promise. The Rust half settles a promise, runs the jobs queued
    // until then, as an await would, then takes the parts with `finishFetch`.
    // (No async function and no await of its own: in this engine they cost
    // about as much as the rest of a trivial event's runtime work, and a
    // handler's promise has mostly settled by the time it is returned.)
    fetch(kind, exportName, method, url, headers, body) {
      // The request's parts, from the host's valid ones (the host normalized
      // the URL): see Body in 40-fetch-api.js.
      const request = new Request(TRUSTED, [method, url, headers, body, null, false]);
      let res;
      if (kind === 1) {
        if (!inst.object) throw new Error("no Durable Object is running in this instance");
        if (typeof inst.object.fetch !== "function") {
          throw new TypeError(`Durable Object class ${inst.object.constructor.name} has no fetch() method`);
        }
        res = inst.object.fetch(request);
      } else {
        const instance = entrypoint(kind, exportName);
        if (typeof instance.fetch !== "function") {
          throw new TypeError(`the entrypoint "${kind === 0 ? "default" : exportName}" has no fetch() handler`);
        }
        res = isPlain(instance) ? instance.fetch(request, env, new ExecutionContext()) : instance.fetch(request);
      }
      return res instanceof Response || res instanceof IntrinsicPromise ? res : asPromise(res);
    },
    // What the Rust half sends of the Response a `fetch` handler of `kind`
    // answered with: [status, statusText, header pairs, body bytes or null,
    // streamed (null: no)]. A Response with raw header pairs and its bytes
    // at hand (most: made from text, JSON or another instance's answer) is
    // sent as its own parts, its body marked used; any other goes through
    // responseParts.
    finishFetch(res, kind) {
      const p = responsePartsOf(res) ?? checkResponse(res, kind);
      const src = p[3];
      if (p[4] === null && !p[5] && (src === null || src instanceof Uint8Array) && !(p[2] instanceof Headers)) {
        inst.streamedBody = null;
        p[5] = true;
        return p;
      }
      return responseParts(p);
    },
    // Calls an RPC method and returns its answer (or a promise of it, or of
    // a thenable it answered), settled and sent as `fetch`'s is: see there.
    // `argsIn`: the arguments, or their bytes (a Uint8Array) when the Rust
    // half left them to the JS reader (they are not plain data).
    call(kind, exportName, method, argsIn) {
      const args = argsIn instanceof Uint8Array ? deserializeInJs(argsIn) : argsIn;
      let target;
      let what;
      if (kind === 1) {
        if (!inst.object) throw new Error("no Durable Object is running in this instance");
        target = inst.object;
        what = `Durable Object ${inst.object.constructor.name}`;
      } else {
        const instance = entrypoint(kind, exportName);
        if (isPlain(instance)) throw new TypeError(`export "${kind === 0 ? "default" : exportName}" is not a WorkerEntrypoint class, so it has no RPC methods`);
        target = instance;
        what = `entrypoint ${instance.constructor.name}`;
      }
      const f = rpcMethod(target, method, what);
      const result = f.apply(target, args);
      // (An object that is not a promise may be a thenable.)
      return result instanceof IntrinsicPromise || result === null || (typeof result !== "object" && typeof result !== "function") ? result : asPromise(result);
    },
    finishCall: serialize,
  };
});
