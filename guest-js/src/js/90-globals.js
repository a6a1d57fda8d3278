  // Outbound `fetch()`: through the loader's `globalOutbound` stub when one
  // was given, refused when it was `null`, otherwise performed by the host
  // (started as a handle, so that several fetches run at once).
  const REDIRECT_MODES = ["follow", "manual", "error"];

  // A Response from the host's parts of a network response, with its
  // final URL and whether a redirect led there (Response's own getters).
  function fetchResponse(r) {
    return responseMeta(makeResponse(r[0], r[1], r[2], r[3]), { url: r[4], redirected: r[5] });
  }

  // A body to send whole: bytes, or a stream read to its end (outbound
  // request bodies are buffered, up to the host's request-size limit).
  async function bodyBytes(r) {
    // web's `bodySource(r)` (40-fetch-api.js): null, bytes, or a ReadableStream.
    const src = bodySource(r);
    return src === null || src instanceof Uint8Array ? src : readAllBytes(src);
  }

  async function fetch(input, init) {
    const req = new Request(input, init);
    const signal = req.signal || (init && init.signal) || null;
    if (signal && signal.aborted) throw abortReason(signal);
    const target = inst.outboundTarget;
    if (target) {
      return fromResponseArray(host.stubFetch(target[0], target[1], target[2], requestObject(req)));
    }
    if (inst.blockOutbound) {
      throw new Error("fetch() is blocked: this worker was loaded with globalOutbound: null, so it has no network access");
    }
    const url = new URL(req.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`fetch(): unsupported URL scheme "${url.protocol}" (only http: and https: can be fetched)`);
    }
    const redirect = REDIRECT_MODES.indexOf(req.redirect);
    if (redirect < 0) throw new TypeError(`fetch(): invalid redirect mode "${req.redirect}"`);
    const body = await bodyBytes(req);
    if (signal && signal.aborted) throw abortReason(signal);
    const handle = host.fetchStart([req.method, req.url, requestPairs(req), body === null ? undefined : body], redirect);
    return new Promise((resolve, reject) => {
      let onAbort = null;
      pendingIo().set(handle, () => {
        if (onAbort) signal.removeEventListener("abort", onAbort);
        try {
          resolve(fetchResponse(host.fetchResult(handle)));
        } catch (e) {
          reject(e);
        }
      });
      if (signal) {
        onAbort = () => {
          if (pendingIo().delete(handle)) {
            host.ioCancel(handle);
            reject(abortReason(signal));
          }
        };
        signal.addEventListener("abort", onAbort, { once: true });
      }
    });
  }

  const globals = {
    crypto,
    fetch,
    setTimeout, clearTimeout, setInterval, clearInterval, queueMicrotask,
    scheduler, performance, Scheduler, Performance,
    Headers, Request, Response, URL, URLSearchParams, TextEncoder, TextDecoder, console, structuredClone,
    btoa, atob, CryptoKey, SubtleCrypto,
    ReadableStream,
    ReadableStreamDefaultReader,
    ReadableStreamBYOBReader,
    ReadableStreamDefaultController,
    ReadableByteStreamController,
    WritableStream,
    WritableStreamDefaultWriter,
    WritableStreamDefaultController,
    TransformStream,
    TransformStreamDefaultController,
    CountQueuingStrategy,
    ByteLengthQueuingStrategy,
    IdentityTransformStream,
    FixedLengthStream,
    TextEncoderStream,
    TextDecoderStream,
    Blob,
    File,
    FormData,
    DOMException,
    Event,
    EventTarget,
    AbortController,
    AbortSignal,
  };
  for (const [k, v] of O.entries(globals)) {
    O.defineProperty(globalThis, k, { value: v, writable: true, enumerable: false, configurable: true });
  }
  O.defineProperty(globalThis, "self", { value: globalThis, writable: true, enumerable: false, configurable: true });

