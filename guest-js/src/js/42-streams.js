  // ---------------------------------------------------------------------------
  // Streams (WHATWG Streams Standard): ReadableStream (default and byte
  // sources, default and BYOB readers, tee, pipes, async iteration),
  // WritableStream, TransformStream, queuing strategies, and the Workers'
  // IdentityTransformStream/FixedLengthStream and TextEncoderStream/
  // TextDecoderStream. A stream's state is a plain record (`s`), reachable
  // from the runtime through rsOf/wsOf and never from user code.

  function deferred() {
    const d = {};
    d.promise = new Promise((resolve, reject) => {
      d.resolve = resolve;
      d.reject = reject;
    });
    return d;
  }
  function handled(p) {
    p.then(undefined, () => {});
    return p;
  }
  function rejected(e) {
    return handled(Promise.reject(e));
  }
  // Calls an underlying source/sink method as a promise (a throw becomes a rejection).
  function promiseCall(f, self, ...args) {
    try {
      return Promise.resolve(typeof f === "function" ? f.apply(self, args) : undefined);
    } catch (e) {
      return Promise.reject(e);
    }
  }
  function method(obj, name) {
    const f = obj[name];
    if (f !== undefined && f !== null && typeof f !== "function") throw new TypeError(`${name} must be a function`);
    return f ?? undefined;
  }

  function strategyOf(strategy, defaultHwm) {
    const hwm = strategy?.highWaterMark === undefined ? defaultHwm : Number(strategy.highWaterMark);
    if (Number.isNaN(hwm) || hwm < 0) throw new RangeError("highWaterMark must be a non-negative number");
    const size = strategy?.size;
    if (size !== undefined && typeof size !== "function") throw new TypeError("size must be a function");
    return [hwm, size];
  }
  function chunkSize(s, chunk) {
    if (!s.sizeFn) return 1;
    const size = Number(s.sizeFn(chunk));
    if (!(size >= 0) || size === Infinity) throw new RangeError("the size of a chunk must be a finite, non-negative number");
    return size;
  }

  const countSize = O.defineProperty(() => 1, "name", { value: "size" });
  const byteSize = O.defineProperty((chunk) => chunk.byteLength, "name", { value: "size" });
  function hwmInit(init) {
    if (init === null || typeof init !== "object" || init.highWaterMark === undefined) {
      throw new TypeError("a queuing strategy needs { highWaterMark }");
    }
    return Number(init.highWaterMark);
  }
  class CountQueuingStrategy {
    #hwm;
    constructor(init) {
      this.#hwm = hwmInit(init);
    }
    get highWaterMark() { return this.#hwm; }
    get size() { return countSize; }
    get [Symbol.toStringTag]() { return "CountQueuingStrategy"; }
  }
  class ByteLengthQueuingStrategy {
    #hwm;
    constructor(init) {
      this.#hwm = hwmInit(init);
    }
    get highWaterMark() { return this.#hwm; }
    get size() { return byteSize; }
    get [Symbol.toStringTag]() { return "ByteLengthQueuingStrategy"; }
  }

  // --- ReadableStream internals ----------------------------------------------

  function rsDesired(s) {
    return s.state === "errored" ? null : s.state === "closed" ? 0 : s.hwm - s.qsize;
  }
  function rsPull(s) {
    if (!s.started || s.state !== "readable" || s.closeRequested) return;
    if (!(s.reader?.reads.length > 0) && !(rsDesired(s) > 0)) return;
    if (s.pulling) {
      s.pullAgain = true;
      return;
    }
    s.pulling = true;
    promiseCall(s.pull, s.source, s.controller).then(
      () => {
        s.pulling = false;
        if (s.pullAgain) {
          s.pullAgain = false;
          rsPull(s);
        }
      },
      (e) => rsError(s, e),
    );
  }
  // Hands `chunk` to a read request: a BYOB read gets as much as fits in its
  // view, and the rest goes back to the front of the queue.
  function fulfill(s, req, chunk) {
    if (!req.view) return req.resolve({ value: chunk, done: false });
    const view = req.view;
    const src = toBytes(chunk);
    const n = Math.min(src.byteLength, view.byteLength);
    const dest = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    dest.set(src.subarray(0, n));
    if (n < src.byteLength) {
      const rest = src.subarray(n);
      s.queue.unshift([rest, rest.byteLength]);
      s.qsize += rest.byteLength;
    }
    const per = view.BYTES_PER_ELEMENT || 1;
    const Ctor = view.constructor === DataView ? DataView : view.constructor;
    req.resolve({ value: new Ctor(view.buffer, view.byteOffset, Math.floor(n / per)), done: false });
  }
  function rsEnqueue(s, chunk) {
    if (s.closeRequested || s.state !== "readable") throw new TypeError("cannot enqueue: the stream is closed or errored");
    if (s.bytes && !isView(chunk)) throw new TypeError("a byte stream's chunks must be ArrayBuffer views");
    const reads = s.reader?.reads;
    if (reads && reads.length > 0) {
      fulfill(s, reads.shift(), s.bytes ? toBytes(chunk) : chunk);
    } else {
      let size;
      try {
        size = s.bytes ? chunk.byteLength : chunkSize(s, chunk);
      } catch (e) {
        rsError(s, e);
        throw e;
      }
      s.queue.push([s.bytes ? toBytes(chunk) : chunk, size]);
      s.qsize += size;
    }
    rsPull(s);
  }
  function rsCloseRequest(s) {
    if (s.closeRequested || s.state !== "readable") throw new TypeError("the stream is already closed or errored");
    s.closeRequested = true;
    if (s.queue.length === 0) rsFinishClose(s);
  }
  function rsFinishClose(s) {
    if (s.state !== "readable") return;
    s.state = "closed";
    const r = s.reader;
    if (!r) return;
    for (const req of r.reads.splice(0)) {
      req.resolve({ value: req.view ? new (req.view.constructor)(req.view.buffer, req.view.byteOffset, 0) : undefined, done: true });
    }
    r.closed.resolve();
  }
  function rsError(s, e) {
    if (s.state !== "readable") return;
    s.state = "errored";
    s.error = e;
    s.queue = [];
    s.qsize = 0;
    const r = s.reader;
    if (!r) return;
    for (const req of r.reads.splice(0)) req.reject(e);
    r.closed.reject(e);
    handled(r.closed.promise);
  }
  function rsCancel(s, reason) {
    s.disturbed = true;
    if (s.state === "closed") return Promise.resolve();
    if (s.state === "errored") return rejected(s.error);
    s.queue = [];
    s.qsize = 0;
    rsFinishClose(s);
    return promiseCall(s.cancel, s.source, reason).then(() => undefined);
  }
  function rsRead(s, view) {
    s.disturbed = true;
    if (s.state === "errored") return rejected(s.error);
    const d = deferred();
    d.view = view;
    if (s.queue.length > 0) {
      const [chunk, size] = s.queue.shift();
      s.qsize -= size;
      fulfill(s, d, chunk);
      if (s.closeRequested && s.queue.length === 0) rsFinishClose(s);
      else rsPull(s);
    } else if (s.state === "closed") {
      return Promise.resolve({ value: view ? new (view.constructor)(view.buffer, view.byteOffset, 0) : undefined, done: true });
    } else {
      s.reader.reads.push(d);
      rsPull(s);
    }
    return d.promise;
  }

  class ReadableStreamDefaultController {
    #s;
    constructor(token, s) {
      illegal(token);
      this.#s = s;
    }
    get desiredSize() { return rsDesired(this.#s); }
    get byobRequest() { return null; }
    close() { rsCloseRequest(this.#s); }
    enqueue(chunk) { rsEnqueue(this.#s, chunk); }
    error(e) { rsError(this.#s, e); }
    get [Symbol.toStringTag]() { return "ReadableStreamDefaultController"; }
  }
  class ReadableByteStreamController extends ReadableStreamDefaultController {
    get [Symbol.toStringTag]() { return "ReadableByteStreamController"; }
  }

  let rsOf; // ReadableStream -> its record (throws a TypeError for anything else)
  let isReadableStream;

  class ReadableStream {
    #s;
    static {
      rsOf = (r) => {
        if (!isReadableStream(r)) throw new TypeError("not a ReadableStream");
        return r.#s;
      };
      isReadableStream = (r) => r !== null && typeof r === "object" && #s in r;
    }
    constructor(source = undefined, strategy = undefined) {
      source = source ?? {};
      const type = source.type === undefined ? undefined : String(source.type);
      if (type !== undefined && type !== "bytes") throw new TypeError(`invalid ReadableStream type "${type}"`);
      const bytes = type === "bytes";
      const [hwm, sizeFn] = strategyOf(strategy, bytes ? 0 : 1);
      if (bytes && sizeFn) throw new RangeError("a byte stream cannot have a size function");
      const s = (this.#s = {
        state: "readable", queue: [], qsize: 0, hwm, sizeFn, bytes, closeRequested: false, started: false,
        pulling: false, pullAgain: false, disturbed: false, error: undefined, reader: null, source,
        pull: method(source, "pull"), cancel: method(source, "cancel"), controller: null,
      });
      s.controller = new (bytes ? ReadableByteStreamController : ReadableStreamDefaultController)(ILLEGAL, s);
      const start = method(source, "start");
      const started = start ? start.call(source, s.controller) : undefined;
      Promise.resolve(started).then(
        () => {
          s.started = true;
          rsPull(s);
        },
        (e) => rsError(s, e),
      );
    }
    get locked() {
      return this.#s.reader !== null;
    }
    cancel(reason) {
      if (!isReadableStream(this)) return rejected(new TypeError("not a ReadableStream"));
      if (this.#s.reader) return rejected(new TypeError("cannot cancel a locked ReadableStream"));
      return rsCancel(this.#s, reason);
    }
    getReader(options = undefined) {
      const mode = options?.mode;
      if (mode === undefined) return new ReadableStreamDefaultReader(this);
      if (String(mode) === "byob") return new ReadableStreamBYOBReader(this);
      throw new TypeError(`invalid reader mode "${mode}"`);
    }
    pipeThrough(transform, options = undefined) {
      const { readable, writable } = transform ?? {};
      if (!isReadableStream(readable) || !isWritableStream(writable)) {
        throw new TypeError("pipeThrough needs a { readable, writable } pair");
      }
      if (this.locked) throw new TypeError("cannot pipe a locked ReadableStream");
      if (writable.locked) throw new TypeError("cannot pipe into a locked WritableStream");
      handled(this.pipeTo(writable, options));
      return readable;
    }
    pipeTo(dest, options = undefined) {
      if (!isReadableStream(this)) return rejected(new TypeError("not a ReadableStream"));
      if (!isWritableStream(dest)) return rejected(new TypeError("pipeTo's destination must be a WritableStream"));
      if (this.locked) return rejected(new TypeError("cannot pipe a locked ReadableStream"));
      if (dest.locked) return rejected(new TypeError("cannot pipe into a locked WritableStream"));
      return pipe(this, dest, options ?? {});
    }
    tee() {
      return tee(this);
    }
    values(options = undefined) {
      return streamIterator(this, !!options?.preventCancel);
    }
    [Symbol.asyncIterator](options = undefined) {
      return streamIterator(this, !!options?.preventCancel);
    }
    static from(iterable) {
      if (isReadableStream(iterable)) return iterable;
      const asyncIt = iterable?.[Symbol.asyncIterator];
      let it;
      if (typeof asyncIt === "function") it = asyncIt.call(iterable);
      else if (typeof iterable?.[Symbol.iterator] === "function") it = iterable[Symbol.iterator]();
      else throw new TypeError("ReadableStream.from needs an iterable or async iterable");
      return new ReadableStream(
        {
          async pull(c) {
            const r = await it.next();
            if (r.done) c.close();
            else c.enqueue(await r.value);
          },
          async cancel(reason) {
            if (typeof it.return === "function") await it.return(reason);
          },
        },
        { highWaterMark: 0 },
      );
    }
    get [Symbol.toStringTag]() {
      return "ReadableStream";
    }
  }

  const AsyncIteratorPrototype = O.getPrototypeOf(O.getPrototypeOf(async function* () {}).prototype);
  function streamIterator(stream, preventCancel) {
    const reader = stream.getReader();
    let done = false;
    const it = O.create(AsyncIteratorPrototype);
    it.next = async () => {
      if (done) return { value: undefined, done: true };
      try {
        const r = await reader.read();
        if (r.done) {
          done = true;
          reader.releaseLock();
        }
        return r;
      } catch (e) {
        done = true;
        reader.releaseLock();
        throw e;
      }
    };
    it.return = async (value) => {
      if (!done) {
        done = true;
        const p = preventCancel ? undefined : reader.cancel(value);
        reader.releaseLock();
        await p;
      }
      return { value, done: true };
    };
    return it;
  }

  function tee(stream) {
    const s = rsOf(stream);
    const reader = stream.getReader();
    let reading = false;
    let readAgain = false;
    const canceled = [false, false];
    const reasons = [undefined, undefined];
    const cancelDone = deferred();
    const branch = [];
    const pull = () => {
      if (reading) {
        readAgain = true;
        return Promise.resolve();
      }
      reading = true;
      reader.read().then(
        ({ value, done }) => {
          reading = false;
          for (let i = 0; i < 2; i++) {
            if (canceled[i] || branch[i].state !== "readable" || branch[i].closeRequested) continue;
            if (done) rsCloseRequest(branch[i]);
            else rsEnqueue(branch[i], value);
          }
          if (done) {
            if (!canceled[0] || !canceled[1]) cancelDone.resolve();
          } else if (readAgain) {
            readAgain = false;
            pull();
          }
        },
        () => {
          reading = false;
        },
      );
      return Promise.resolve();
    };
    const cancel = (i) => (reason) => {
      canceled[i] = true;
      reasons[i] = reason;
      if (canceled[1 - i]) cancelDone.resolve(rsCancel(s, reasons));
      return cancelDone.promise;
    };
    const streams = [0, 1].map((i) => {
      const r = new ReadableStream({ pull, cancel: cancel(i) });
      branch[i] = rsOf(r);
      return r;
    });
    reader.closed.then(undefined, (e) => {
      rsError(branch[0], e);
      rsError(branch[1], e);
      if (!canceled[0] || !canceled[1]) cancelDone.resolve();
    });
    return streams;
  }

  function pipe(source, dest, options) {
    const preventClose = !!options.preventClose;
    const preventAbort = !!options.preventAbort;
    const preventCancel = !!options.preventCancel;
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) return rejected(new TypeError("pipeTo's signal must be an AbortSignal"));
    const reader = source.getReader();
    const writer = dest.getWriter();
    const result = deferred();
    let finished = false;
    let lastWrite = Promise.resolve();
    const finish = (error, isError) => {
      if (finished) return;
      finished = true;
      signal?.removeEventListener("abort", onAbort);
      // Let pending writes settle before the locks go.
      lastWrite.then(undefined, () => {}).then(() => {
        writer.releaseLock();
        reader.releaseLock();
        if (isError) result.reject(error);
        else result.resolve();
      });
    };
    // Runs a shutdown action, then finishes with `error`.
    const shutdown = (action, error, isError) => {
      if (finished) return;
      (action ? action().then(undefined, () => {}) : Promise.resolve()).then(() => finish(error, isError));
    };
    const onAbort = () => {
      const e = signal.reason;
      const actions = [];
      if (!preventAbort) actions.push(() => (wsOf(dest).state === "writable" ? writer.abort(e) : Promise.resolve()));
      if (!preventCancel) actions.push(() => (rsOf(source).state === "readable" ? reader.cancel(e) : Promise.resolve()));
      shutdown(() => Promise.all(actions.map((a) => a())), e, true);
    };
    reader.closed.then(
      () => {
        if (preventClose) return shutdown(null, undefined, false);
        lastWrite
          .then(() => writer.close())
          .then(
            () => finish(undefined, false),
            (e) => finish(e, true),
          );
      },
      (e) => shutdown(preventAbort ? null : () => writer.abort(e), e, true),
    );
    writer.closed.then(
      () => {
        if (!finished && rsOf(source).state === "readable") {
          const e = new TypeError("the destination of the pipe was closed");
          shutdown(preventCancel ? null : () => reader.cancel(e), e, true);
        }
      },
      (e) => shutdown(preventCancel ? null : () => reader.cancel(e), e, true),
    );
    if (signal?.aborted) {
      onAbort();
      return result.promise;
    }
    signal?.addEventListener("abort", onAbort);
    (async () => {
      while (!finished) {
        try {
          await writer.ready;
        } catch {
          return; // writer.closed reports it
        }
        if (finished) return;
        let r;
        try {
          r = await reader.read();
        } catch {
          return; // reader.closed reports it
        }
        if (r.done || finished) return;
        lastWrite = writer.write(r.value);
        handled(lastWrite);
      }
    })();
    return result.promise;
  }

  class ReadableStreamDefaultReader {
    #s = null;
    #r = null;
    constructor(stream) {
      const s = rsOf(stream);
      if (s.reader) throw new TypeError("ReadableStream is locked to a reader");
      this.#s = s;
      this.#r = s.reader = { reads: [], closed: deferred(), byob: this instanceof ReadableStreamBYOBReader };
      if (s.state === "closed") this.#r.closed.resolve();
      else if (s.state === "errored") {
        this.#r.closed.reject(s.error);
        handled(this.#r.closed.promise);
      }
    }
    get closed() {
      return this.#r.closed.promise;
    }
    read(view = undefined) {
      if (!this.#s) return rejected(new TypeError("the reader has been released"));
      return rsRead(this.#s, view);
    }
    cancel(reason) {
      if (!this.#s) return rejected(new TypeError("the reader has been released"));
      return rsCancel(this.#s, reason);
    }
    releaseLock() {
      const s = this.#s;
      if (!s) return;
      const e = new TypeError("the reader was released");
      const r = this.#r;
      for (const req of r.reads.splice(0)) req.reject(e);
      if (s.state === "readable") r.closed.reject(e);
      else r.closed = { promise: Promise.reject(e) };
      handled(r.closed.promise);
      s.reader = null;
      this.#s = null;
    }
    get [Symbol.toStringTag]() {
      return "ReadableStreamDefaultReader";
    }
  }

  class ReadableStreamBYOBReader extends ReadableStreamDefaultReader {
    constructor(stream) {
      if (!rsOf(stream).bytes) throw new TypeError("a BYOB reader needs a byte stream (type: \"bytes\")");
      super(stream);
    }
    read(view) {
      if (!isView(view) || view.byteLength === 0) return rejected(new TypeError("read() needs a non-empty ArrayBuffer view"));
      return super.read(view);
    }
    get [Symbol.toStringTag]() {
      return "ReadableStreamBYOBReader";
    }
  }

  // A stream of the one chunk `bytes` (a body known up front), made on demand.
  function bytesStream(bytes) {
    return new ReadableStream({
      type: "bytes",
      pull(c) {
        if (bytes.byteLength > 0) c.enqueue(bytes);
        c.close();
      },
    });
  }

  // One chunk of a body stream, as bytes.
  function bodyChunk(value) {
    if (!isView(value) && !brand(abByteLength, value)) {
      throw new TypeError("a body stream's chunks must be ArrayBuffers or ArrayBuffer views");
    }
    return toBytes(value);
  }

  // The chunks, copied into one new Uint8Array of `total` bytes.
  function concatBytes(chunks, total) {
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }

  // Reads a stream of byte chunks to its end, as one Uint8Array.
  async function readAllBytes(stream) {
    const reader = stream.getReader();
    const chunks = [];
    let total = 0;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const b = bodyChunk(value);
        chunks.push(b);
        total += b.byteLength;
      }
    } finally {
      reader.releaseLock();
    }
    return chunks.length === 1 ? chunks[0] : concatBytes(chunks, total);
  }

  // --- WritableStream --------------------------------------------------------

  function wsDesired(s) {
    return s.state === "errored" || s.state === "erroring" ? null : s.state === "closed" ? 0 : s.hwm - s.qsize;
  }
  // Keeps the writer's `ready` promise in step with backpressure.
  function wsBackpressure(s) {
    const w = s.writer;
    const bp = s.state === "writable" && !s.closeRequested && wsDesired(s) <= 0;
    if (bp === s.backpressure) return;
    s.backpressure = bp;
    if (!w) return;
    if (bp) w.ready = deferred();
    else w.ready.resolve();
  }
  function wsError(s, e) {
    if (s.state === "errored" || s.state === "closed") return;
    s.state = "errored";
    s.error = e;
    for (const req of s.queue.splice(0)) req.d?.reject(e);
    s.qsize = 0;
    if (s.closeD) {
      s.closeD.reject(e);
      handled(s.closeD.promise);
    }
    const w = s.writer;
    if (w) {
      if (s.backpressure) w.ready.reject(e);
      else w.ready = { promise: Promise.reject(e) };
      handled(w.ready.promise);
      w.closed.reject(e);
      handled(w.closed.promise);
    }
    s.abortController?.abort(e);
  }
  function wsAdvance(s) {
    if (!s.started || s.inFlight || s.state !== "writable") return;
    if (s.queue.length > 0) {
      const req = s.queue[0];
      s.inFlight = true;
      promiseCall(s.write, s.sink, req.chunk, s.controller).then(
        () => {
          s.inFlight = false;
          if (s.state !== "writable") return;
          s.queue.shift();
          s.qsize -= req.size;
          req.d.resolve();
          wsBackpressure(s);
          wsAdvance(s);
        },
        (e) => {
          s.inFlight = false;
          req.d.reject(e);
          s.queue.shift();
          wsError(s, e);
        },
      );
    } else if (s.closeRequested) {
      s.inFlight = true;
      promiseCall(s.close, s.sink).then(
        () => {
          s.inFlight = false;
          if (s.state !== "writable") return;
          s.state = "closed";
          s.closeD.resolve();
          s.writer?.closed.resolve();
        },
        (e) => {
          s.inFlight = false;
          wsError(s, e);
        },
      );
    }
  }
  function wsWrite(s, chunk) {
    if (s.state === "errored" || s.state === "erroring") return rejected(s.error);
    if (s.state === "closed" || s.closeRequested) return rejected(new TypeError("cannot write to a closed WritableStream"));
    let size;
    try {
      size = chunkSize(s, chunk);
    } catch (e) {
      wsError(s, e);
      return rejected(e);
    }
    const d = deferred();
    s.queue.push({ chunk, size, d });
    s.qsize += size;
    wsBackpressure(s);
    wsAdvance(s);
    return d.promise;
  }
  function wsClose(s) {
    if (s.state === "closed" || s.closeRequested) return rejected(new TypeError("the WritableStream is already closed"));
    if (s.state !== "writable") return rejected(s.error);
    s.closeRequested = true;
    s.closeD = deferred();
    if (s.backpressure) {
      s.backpressure = false;
      s.writer?.ready.resolve();
    }
    wsAdvance(s);
    return s.closeD.promise;
  }
  function wsAbort(s, reason) {
    if (s.state === "closed" || s.state === "errored") return Promise.resolve();
    wsError(s, reason);
    return promiseCall(s.abort, s.sink, reason).then(() => undefined);
  }

  class WritableStreamDefaultController {
    #s;
    constructor(token, s) {
      illegal(token);
      this.#s = s;
    }
    get signal() {
      const s = this.#s;
      s.abortController ??= new AbortController();
      return s.abortController.signal;
    }
    error(e) {
      if (this.#s.state === "writable") wsError(this.#s, e);
    }
    get [Symbol.toStringTag]() { return "WritableStreamDefaultController"; }
  }

  let wsOf;
  let isWritableStream;

  class WritableStream {
    #s;
    static {
      wsOf = (w) => {
        if (!isWritableStream(w)) throw new TypeError("not a WritableStream");
        return w.#s;
      };
      isWritableStream = (w) => w !== null && typeof w === "object" && #s in w;
    }
    constructor(sink = undefined, strategy = undefined) {
      sink = sink ?? {};
      if (sink.type !== undefined) throw new RangeError("invalid WritableStream type");
      const [hwm, sizeFn] = strategyOf(strategy, 1);
      const s = (this.#s = {
        state: "writable", queue: [], qsize: 0, hwm, sizeFn, started: false, inFlight: false, closeRequested: false,
        closeD: null, backpressure: false, error: undefined, writer: null, sink, controller: null, abortController: null,
        write: method(sink, "write"), close: method(sink, "close"), abort: method(sink, "abort"),
      });
      s.controller = new WritableStreamDefaultController(ILLEGAL, s);
      wsBackpressure(s);
      const start = method(sink, "start");
      Promise.resolve(start ? start.call(sink, s.controller) : undefined).then(
        () => {
          s.started = true;
          wsAdvance(s);
        },
        (e) => {
          s.started = true;
          wsError(s, e);
        },
      );
    }
    get locked() {
      return this.#s.writer !== null;
    }
    abort(reason) {
      if (this.#s.writer) return rejected(new TypeError("cannot abort a locked WritableStream"));
      return wsAbort(this.#s, reason);
    }
    close() {
      if (this.#s.writer) return rejected(new TypeError("cannot close a locked WritableStream"));
      return wsClose(this.#s);
    }
    getWriter() {
      return new WritableStreamDefaultWriter(this);
    }
    get [Symbol.toStringTag]() {
      return "WritableStream";
    }
  }

  class WritableStreamDefaultWriter {
    #s = null;
    #w;
    constructor(stream) {
      const s = wsOf(stream);
      if (s.writer) throw new TypeError("WritableStream is locked to a writer");
      this.#s = s;
      const w = (this.#w = s.writer = { ready: deferred(), closed: deferred() });
      if (s.state === "errored") {
        w.ready.reject(s.error);
        w.closed.reject(s.error);
        handled(w.ready.promise);
        handled(w.closed.promise);
      } else {
        if (s.state === "closed") w.closed.resolve();
        if (!s.backpressure) w.ready.resolve();
      }
    }
    #live() {
      if (!this.#s) throw new TypeError("the writer has been released");
      return this.#s;
    }
    get closed() { return this.#w.closed.promise; }
    get ready() { return this.#w.ready.promise; }
    get desiredSize() {
      return wsDesired(this.#live());
    }
    write(chunk) {
      if (!this.#s) return rejected(new TypeError("the writer has been released"));
      return wsWrite(this.#s, chunk);
    }
    close() {
      if (!this.#s) return rejected(new TypeError("the writer has been released"));
      return wsClose(this.#s);
    }
    abort(reason) {
      if (!this.#s) return rejected(new TypeError("the writer has been released"));
      return wsAbort(this.#s, reason);
    }
    releaseLock() {
      const s = this.#s;
      if (!s) return;
      const e = new TypeError("the writer was released");
      const w = this.#w;
      w.ready = { promise: Promise.reject(e) };
      handled(w.ready.promise);
      if (s.state === "writable" && !s.closeRequested) w.closed.reject(e);
      else w.closed = { promise: Promise.reject(e) };
      handled(w.closed.promise);
      s.writer = null;
      this.#s = null;
    }
    get [Symbol.toStringTag]() {
      return "WritableStreamDefaultWriter";
    }
  }

  // --- TransformStream ---------------------------------------------------------

  class TransformStreamDefaultController {
    #t;
    constructor(token, t) {
      illegal(token);
      this.#t = t;
    }
    get desiredSize() { return rsDesired(this.#t.rs); }
    enqueue(chunk) { this.#t.enqueue(chunk); }
    error(e) { this.#t.error(e); }
    terminate() { this.#t.terminate(); }
    get [Symbol.toStringTag]() { return "TransformStreamDefaultController"; }
  }

  class TransformStream {
    #readable;
    #writable;
    constructor(transformer = undefined, writableStrategy = undefined, readableStrategy = undefined) {
      transformer = transformer ?? {};
      if (transformer.readableType !== undefined || transformer.writableType !== undefined) {
        throw new RangeError("invalid TransformStream type");
      }
      const transform = method(transformer, "transform");
      const flush = method(transformer, "flush");
      const cancel = method(transformer, "cancel");
      const start = method(transformer, "start");
      let ready = deferred(); // resolved while the readable side wants more
      const t = { rs: null, ws: null };
      const startD = deferred();
      const errorBoth = (e) => {
        rsError(t.rs, e);
        wsError(t.ws, e);
      };
      t.enqueue = (chunk) => {
        if (t.rs.state !== "readable" || t.rs.closeRequested) throw new TypeError("the readable side of the transform is closed");
        rsEnqueue(t.rs, chunk);
        if (rsDesired(t.rs) <= 0 && ready === null) ready = deferred();
      };
      t.error = errorBoth;
      t.terminate = () => {
        if (t.rs.state === "readable" && !t.rs.closeRequested) rsCloseRequest(t.rs);
        wsError(t.ws, new TypeError("the TransformStream was terminated"));
      };
      const controller = new TransformStreamDefaultController(ILLEGAL, t);
      this.#readable = new ReadableStream(
        {
          start: () => startD.promise,
          pull: () => {
            if (ready) {
              ready.resolve();
              ready = null;
            }
          },
          cancel: (reason) => {
            wsError(t.ws, reason);
            return promiseCall(cancel, transformer, reason);
          },
        },
        readableStrategy ?? { highWaterMark: 0 },
      );
      this.#writable = new WritableStream(
        {
          start: () => startD.promise,
          write: async (chunk) => {
            if (ready) await ready.promise;
            try {
              if (transform) await transform.call(transformer, chunk, controller);
              else t.enqueue(chunk);
            } catch (e) {
              errorBoth(e);
              throw e;
            }
          },
          close: async () => {
            try {
              if (flush) await flush.call(transformer, controller);
            } catch (e) {
              rsError(t.rs, e);
              throw e;
            }
            if (t.rs.state === "readable" && !t.rs.closeRequested) rsCloseRequest(t.rs);
          },
          abort: (reason) => {
            rsError(t.rs, reason);
            return promiseCall(cancel, transformer, reason);
          },
        },
        writableStrategy ?? { highWaterMark: 1 },
      );
      t.rs = rsOf(this.#readable);
      t.ws = wsOf(this.#writable);
      const started = start ? start.call(transformer, controller) : undefined;
      Promise.resolve(started).then(startD.resolve, startD.reject);
    }
    get readable() { return this.#readable; }
    get writable() { return this.#writable; }
    get [Symbol.toStringTag]() { return "TransformStream"; }
  }

  // Workers: a byte TransformStream that passes chunks through unchanged.
  function bytesTransform(chunk, c) {
    if (!isView(chunk) && !brand(abByteLength, chunk)) throw new TypeError("this stream accepts only ArrayBuffers or ArrayBuffer views");
    c.enqueue(toBytes(chunk));
  }
  class IdentityTransformStream extends TransformStream {
    constructor(options = undefined) {
      super({ transform: bytesTransform }, { highWaterMark: options?.highWaterMark ?? 1 });
    }
  }
  // Workers: an identity stream that checks the total length it carries.
  class FixedLengthStream extends TransformStream {
    constructor(length) {
      const expected = Number(length);
      if (!Number.isInteger(expected) || expected < 0) throw new TypeError("FixedLengthStream needs a non-negative integer length");
      let seen = 0;
      super({
        transform(chunk, c) {
          const b = toBytes(chunk);
          seen += b.byteLength;
          if (seen > expected) throw new TypeError(`FixedLengthStream: more than the declared ${expected} bytes were written`);
          c.enqueue(b);
        },
        flush() {
          if (seen !== expected) throw new TypeError(`FixedLengthStream: ${seen} bytes were written, ${expected} declared`);
        },
      });
    }
  }

  class TextEncoderStream extends TransformStream {
    constructor() {
      let pending = ""; // a lone high surrogate at the end of the last chunk
      super({
        transform(chunk, c) {
          let s = pending + String(chunk);
          pending = "";
          const last = s.charCodeAt(s.length - 1);
          if (last >= 0xd800 && last <= 0xdbff) {
            pending = s.slice(-1);
            s = s.slice(0, -1);
          }
          if (s) c.enqueue(utf8Bytes(s));
        },
        flush(c) {
          if (pending) c.enqueue(new Uint8Array([0xef, 0xbf, 0xbd]));
        },
      });
    }
    get encoding() { return "utf-8"; }
  }

  class TextDecoderStream extends TransformStream {
    #decoder;
    constructor(label = "utf-8", options = undefined) {
      const decoder = new TextDecoder(label, options);
      super({
        transform(chunk, c) {
          const s = decoder.decode(toBytes(chunk), { stream: true });
          if (s) c.enqueue(s);
        },
        flush(c) {
          const s = decoder.decode();
          if (s) c.enqueue(s);
        },
      });
      this.#decoder = decoder;
    }
    get encoding() { return this.#decoder.encoding; }
    get fatal() { return this.#decoder.fatal; }
    get ignoreBOM() { return this.#decoder.ignoreBOM; }
  }
