  // ---------------------------------------------------------------------------
  // Timers, microtasks, the clock, `ctx.waitUntil`, and the JS half of the
  // event loop. The loop itself is `settle` in dispatch.rs: it runs the job
  // queue, then `loopTurn()` here (fires the earliest due timer), and when
  // nothing is due it blocks in the host's `io.wait` until the next timer or
  // completed I/O (`ioComplete`).

  // Live timers at once, at most (as workerd's limit, a runaway loop of
  // setTimeout fails instead of exhausting memory).
  const MAX_TIMERS = 10_000;
  // Delays are clamped to what a 32-bit signed millisecond count holds, as in browsers.
  const MAX_DELAY_MS = 2 ** 31 - 1;
  // From the 5th nested timer on, delays are at least 4 ms (HTML's clamping).
  const NESTING_CLAMP_LEVEL = 5;
  const NESTED_MIN_DELAY_MS = 4;

  // The timers themselves are the instance's: inst.timers, inst.timerHeap, ...

  function timerLess(a, b) {
    return a.when < b.when || (a.when === b.when && a.seq < b.seq);
  }

  function heapPush(t) {
    const h = (inst.timerHeap ??= []);
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!timerLess(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  function heapPop() {
    const h = inst.timerHeap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && timerLess(h[l], h[m])) m = l;
        if (r < h.length && timerLess(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }

  function reportUncaught(e) {
    try {
      host.log(4, "Uncaught " + (e instanceof Error ? (e.stack ? `${e.name}: ${e.message}\n${e.stack}` : `${e.name}: ${e.message}`) : inspect(e, 2, [])));
    } catch {
      // Logging must not break the loop.
    }
  }

  function timerDelay(delay, nesting) {
    delay = Number(delay);
    if (!(delay > 0)) delay = 0;
    if (delay > MAX_DELAY_MS) delay = MAX_DELAY_MS;
    if (nesting > NESTING_CLAMP_LEVEL && delay < NESTED_MIN_DELAY_MS) delay = NESTED_MIN_DELAY_MS;
    return delay;
  }

  function addTimer(what, fn, delay, args, repeat) {
    if (typeof fn !== "function") {
      throw new TypeError(`${what}: the callback must be a function (strings are not evaluated)`);
    }
    const timers = (inst.timers ??= new Map());
    if (timers.size >= MAX_TIMERS) {
      throw new RangeError(`${what}: too many timers (at most ${MAX_TIMERS} may be pending at once)`);
    }
    const nesting = inst.timerNesting + 1;
    const ms = timerDelay(delay, nesting);
    const id = inst.nextTimerId++;
    const t = { id, when: host.monotonicNow() + ms, seq: inst.timerSeq++, fn, args, repeat, delay, nesting };
    timers.set(id, t);
    heapPush(t);
    return id;
  }

  function clearTimer(id) {
    if (id === undefined || id === null) return;
    if (inst.timers !== null) inst.timers.delete(Number(id));
  }

  function setTimeout(fn, delay, ...args) {
    return addTimer("setTimeout", fn, delay, args, false);
  }
  function setInterval(fn, delay, ...args) {
    return addTimer("setInterval", fn, delay, args, true);
  }
  function clearTimeout(id) {
    clearTimer(id);
  }
  function clearInterval(id) {
    clearTimer(id);
  }

  function queueMicrotask(fn) {
    if (typeof fn !== "function") throw new TypeError("queueMicrotask: the callback must be a function");
    Promise.resolve().then(() => {
      try {
        fn();
      } catch (e) {
        reportUncaught(e);
      }
    });
  }

  function abortReason(signal) {
    return signal.reason !== undefined ? signal.reason : makeError("AbortError", "The operation was aborted");
  }

  class Scheduler {
    wait(delay, options) {
      const signal = options && options.signal;
      return new Promise((resolve, reject) => {
        if (signal && signal.aborted) {
          reject(abortReason(signal));
          return;
        }
        const id = setTimeout(resolve, delay);
        if (signal) {
          signal.addEventListener("abort", () => {
            clearTimeout(id);
            reject(abortReason(signal));
          }, { once: true });
        }
      });
    }
    get [Symbol.toStringTag]() {
      return "Scheduler";
    }
  }
  const scheduler = new Scheduler();

  // The instance's time origin (inst.timeOrigin) is set when its worker loads,
  // not at pre-initialization, which would bake the build's clock into the snapshot.
  class Performance {
    get timeOrigin() {
      return inst.timeOrigin;
    }
    now() {
      return host.monotonicNow() - inst.monotonicOrigin;
    }
    toJSON() {
      return { timeOrigin: inst.timeOrigin };
    }
    get [Symbol.toStringTag]() {
      return "Performance";
    }
  }
  const performance = new Performance();

  function startClock() {
    // The host's clocks, not Date.now(): see wall-clock-ms in wit/io.wit.
    inst.timeOrigin = host.wallNow();
    inst.monotonicOrigin = host.monotonicNow();
  }

  // --- I/O started by this instance (outbound fetch), by host handle --------

  const pendingIo = () => (inst.pendingIo ??= new Map()); // handle -> callback(handle)

  function ioComplete(handles) {
    for (const h of handles) {
      const done = pendingIo().get(h);
      if (done) {
        pendingIo().delete(h);
        done(h);
      }
    }
  }

  // One turn of the loop, after the job queue ran dry: fires the earliest due
  // timer (then the Rust side runs the jobs it queued and comes back), or
  // says how long to wait. Returns 0 when a timer fired, else the ms until
  // the next timer, or -1 when only I/O is pending, -2 when nothing is.
  function loopTurn() {
    const timerHeap = inst.timerHeap;
    while (timerHeap !== null && timerHeap.length > 0) {
      const t = timerHeap[0];
      if (inst.timers.get(t.id) !== t) {
        heapPop();
        continue;
      }
      const now = host.monotonicNow();
      if (t.when > now) return Math.max(1, Math.ceil(t.when - now));
      heapPop();
      if (t.repeat) {
        t.nesting += 1;
        t.when = now + timerDelay(t.delay, t.nesting);
        t.seq = inst.timerSeq++;
        heapPush(t);
      } else {
        inst.timers.delete(t.id);
      }
      inst.timerNesting = t.nesting;
      try {
        t.fn.apply(globalThis, t.args);
      } catch (e) {
        reportUncaught(e);
      } finally {
        inst.timerNesting = 0;
      }
      return 0;
    }
    return inst.pendingIo !== null && inst.pendingIo.size > 0 ? -1 : -2;
  }

  // --- ctx.waitUntil --------------------------------------------------------

  function addWaitUntil(promise) {
    const pending = (inst.waitUntil ??= []);
    if (pending.length === 0) host.deferDrain();
    pending.push(Promise.resolve(promise).then(undefined, (e) => {
      host.log(4, "waitUntil: " + (e instanceof Error ? `${e.name}: ${e.message}` : inspect(e, 2, [])));
    }));
  }

  async function drainWaitUntil() {
    while (inst.waitUntil !== null && inst.waitUntil.length > 0) {
      const batch = inst.waitUntil;
      inst.waitUntil = [];
      await Promise.all(batch);
    }
  }

