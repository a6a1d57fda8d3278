
  async function fetch(input, init) {
    const req = requestObject(input, init);
    if (outboundTarget) {
      return fromResponseArray(host.stubFetch(outboundTarget[0], outboundTarget[1], outboundTarget[2], req));
    }
    if (blockOutbound) {
      throw new Error("fetch() is blocked: this worker was loaded with globalOutbound: null, so it has no network access");
    }
    throw new Error("fetch(): outbound requests are not supported by facets yet");
  }

  const globals = {
    crypto,
    fetch,
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

