  // ---------------------------------------------------------------------------
  // DOMException, Event, EventTarget, AbortController, AbortSignal (WHATWG DOM).

  // Passed by the runtime to constructors that user code may not call.
  const ILLEGAL = Symbol("internal");
  function illegal(token) {
    if (token !== ILLEGAL) throw new TypeError("Illegal constructor");
  }

  const DOM_CODES = {
    IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
    NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11, SyntaxError: 12,
    InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15, TypeMismatchError: 17,
    SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21, QuotaExceededError: 22,
    TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
  };

  class DOMException extends Error {
    #name;
    #message;
    constructor(message = "", options = "Error") {
      super(String(message), typeof options === "object" && options !== null && "cause" in options ? { cause: options.cause } : undefined);
      this.#message = String(message);
      this.#name = typeof options === "object" && options !== null ? (options.name === undefined ? "Error" : String(options.name)) : String(options);
    }
    get name() { return this.#name; }
    get message() { return this.#message; }
    get code() { return DOM_CODES[this.#name] ?? 0; }
    get [Symbol.toStringTag]() { return "DOMException"; }
  }
  for (const [k, v] of O.entries(DOM_CODES)) {
    const c = k.replace(/Error$/, "").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase() + "_ERR";
    O.defineProperty(DOMException, c, { value: v, enumerable: true });
  }

  const EVENT_PHASE = { NONE: 0, CAPTURING_PHASE: 1, AT_TARGET: 2, BUBBLING_PHASE: 3 };
  let eventState; // Event -> its mutable record, for EventTarget

  class Event {
    #e;
    static {
      eventState = (ev) => ev.#e;
    }
    constructor(type, init = undefined) {
      if (arguments.length === 0) throw new TypeError("Event: the type argument is required");
      this.#e = {
        type: String(type), bubbles: !!init?.bubbles, cancelable: !!init?.cancelable, composed: !!init?.composed,
        canceled: false, stop: false, stopNow: false, target: null, current: null, dispatching: false,
        passive: false, time: Date.now(),
      };
    }
    get type() { return this.#e.type; }
    get bubbles() { return this.#e.bubbles; }
    get cancelable() { return this.#e.cancelable; }
    get composed() { return this.#e.composed; }
    get defaultPrevented() { return this.#e.canceled; }
    get returnValue() { return !this.#e.canceled; }
    get target() { return this.#e.target; }
    get srcElement() { return this.#e.target; }
    get currentTarget() { return this.#e.current; }
    get eventPhase() { return this.#e.dispatching ? 2 : 0; }
    get isTrusted() { return false; }
    get timeStamp() { return this.#e.time; }
    get cancelBubble() { return this.#e.stop; }
    set cancelBubble(v) { if (v) this.#e.stop = true; }
    composedPath() { return this.#e.dispatching && this.#e.current ? [this.#e.current] : []; }
    preventDefault() {
      if (this.#e.cancelable && !this.#e.passive) this.#e.canceled = true;
    }
    stopPropagation() { this.#e.stop = true; }
    stopImmediatePropagation() { this.#e.stop = this.#e.stopNow = true; }
    get [Symbol.toStringTag]() { return "Event"; }
  }
  O.assign(Event, EVENT_PHASE);

  let dispatchTo; // internal dispatch that also reaches AbortSignal.onabort etc.

  class EventTarget {
    #listeners = new Map(); // type -> [{ callback, capture, once, passive, removed }]
    static {
      dispatchTo = (target, event) => target.#dispatch(event);
    }
    addEventListener(type, callback, options = undefined) {
      if (callback === null || callback === undefined) return;
      if (typeof callback !== "function" && (typeof callback !== "object")) {
        throw new TypeError("addEventListener: the listener must be a function or an object with handleEvent");
      }
      const opts = typeof options === "object" && options !== null ? options : { capture: !!options };
      const capture = !!opts.capture;
      const signal = opts.signal;
      if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError("addEventListener: signal must be an AbortSignal");
      if (signal?.aborted) return;
      type = String(type);
      let list = this.#listeners.get(type);
      if (!list) this.#listeners.set(type, (list = []));
      if (list.some((l) => l.callback === callback && l.capture === capture)) return;
      const l = { callback, capture, once: !!opts.once, passive: !!opts.passive, removed: false };
      list.push(l);
      signal?.addEventListener("abort", () => this.removeEventListener(type, callback, { capture }));
    }
    removeEventListener(type, callback, options = undefined) {
      const capture = typeof options === "object" && options !== null ? !!options.capture : !!options;
      const list = this.#listeners.get(String(type));
      if (!list) return;
      const i = list.findIndex((l) => l.callback === callback && l.capture === capture);
      if (i >= 0) {
        list[i].removed = true;
        list.splice(i, 1);
      }
    }
    dispatchEvent(event) {
      if (!(event instanceof Event)) throw new TypeError("dispatchEvent: the argument must be an Event");
      if (eventState(event).dispatching) throw new DOMException("the event is already being dispatched", "InvalidStateError");
      return this.#dispatch(event);
    }
    #dispatch(event) {
      const e = eventState(event);
      e.target = e.current = this;
      e.dispatching = true;
      e.stop = e.stopNow = false;
      try {
        const list = this.#listeners.get(e.type);
        for (const l of list ? list.slice() : []) {
          if (l.removed) continue;
          if (l.once) this.removeEventListener(e.type, l.callback, { capture: l.capture });
          e.passive = l.passive;
          try {
            if (typeof l.callback === "function") l.callback.call(this, event);
            else l.callback.handleEvent(event);
          } catch (err) {
            reportError(err);
          }
          e.passive = false;
          if (e.stopNow) break;
        }
      } finally {
        e.dispatching = false;
        e.current = null;
      }
      return !e.canceled;
    }
    get [Symbol.toStringTag]() { return "EventTarget"; }
  }

  // An exception thrown by a listener is reported, not propagated.
  function reportError(err) {
    try {
      console.error("Uncaught", err);
    } catch {}
  }

  let newSignal;
  let signalAbort;
  const timeoutRegistry = new Set(); // keeps timeout signals alive until they fire

  class AbortSignal extends EventTarget {
    #aborted = false;
    #reason = undefined;
    #onabort = null;
    static {
      newSignal = () => new AbortSignal(ILLEGAL);
      signalAbort = (signal, reason) => signal.#abort(reason);
    }
    constructor(token) {
      illegal(token);
      super();
    }
    #abort(reason) {
      if (this.#aborted) return;
      this.#aborted = true;
      this.#reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
      const event = new Event("abort");
      if (typeof this.#onabort === "function") {
        try {
          this.#onabort.call(this, event);
        } catch (err) {
          reportError(err);
        }
      }
      dispatchTo(this, event);
    }
    get aborted() { return this.#aborted; }
    get reason() { return this.#reason; }
    get onabort() { return this.#onabort; }
    set onabort(f) { this.#onabort = typeof f === "function" ? f : null; }
    throwIfAborted() {
      if (this.#aborted) throw this.#reason;
    }
    static abort(reason = undefined) {
      const s = newSignal();
      s.#abort(reason);
      return s;
    }
    static timeout(ms) {
      ms = Number(ms);
      if (!(ms >= 0) || ms > Number.MAX_SAFE_INTEGER) throw new TypeError("AbortSignal.timeout: ms must be a non-negative number");
      const s = newSignal();
      const setTimer = globalThis.setTimeout;
      if (typeof setTimer !== "function") throw new TypeError("AbortSignal.timeout needs setTimeout, which is not available");
      timeoutRegistry.add(s);
      setTimer(() => {
        timeoutRegistry.delete(s);
        s.#abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
      }, ms);
      return s;
    }
    static any(signals) {
      const list = [...signals];
      for (const x of list) if (!(x instanceof AbortSignal)) throw new TypeError("AbortSignal.any: every item must be an AbortSignal");
      const s = newSignal();
      const already = list.find((x) => x.aborted);
      if (already) {
        s.#abort(already.reason);
        return s;
      }
      for (const x of list) x.addEventListener("abort", () => s.#abort(x.reason), { once: true });
      return s;
    }
    get [Symbol.toStringTag]() { return "AbortSignal"; }
  }

  class AbortController {
    #signal = newSignal();
    get signal() { return this.#signal; }
    abort(reason = undefined) {
      signalAbort(this.#signal, reason);
    }
    get [Symbol.toStringTag]() { return "AbortController"; }
  }
