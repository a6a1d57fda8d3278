  // ---------------------------------------------------------------------------
  // Bytes and text

  function toBytes(data) {
    if (data instanceof Uint8Array) return data;
    if (isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (brand(abByteLength, data)) return new Uint8Array(data);
    throw new TypeError("expected an ArrayBuffer or an ArrayBuffer view");
  }

  // UTF-8 bytes of a string; lone surrogates become U+FFFD, as USVString
  // conversion does (the native side accepts only well-formed strings).
  const toWellFormed = String.prototype.toWellFormed;
  const isWellFormed = String.prototype.isWellFormed;
  const SURROGATE = /[\ud800-\udfff]/;
  function utf8Bytes(s) {
    s = String(s);
    if (isWellFormed ? !isWellFormed.call(s) : SURROGATE.test(s)) {
      s = toWellFormed ? toWellFormed.call(s) : s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
    }
    return host.utf8Encode(s); // a Uint8Array
  }

  class TextEncoder {
    get encoding() {
      return "utf-8";
    }
    encode(input = "") {
      return utf8Bytes(input);
    }
    encodeInto(source, destination) {
      const bytes = this.encode(source);
      const n = Math.min(bytes.length, destination.length);
      // Do not split a UTF-8 sequence.
      let end = n;
      if (end < bytes.length) while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
      destination.set(bytes.subarray(0, end));
      let read = 0;
      const s = String(source);
      let written = 0;
      for (const ch of s) {
        const cp = ch.codePointAt(0);
        const len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (written + len > end) break;
        written += len;
        read += ch.length;
      }
      return { read, written: end };
    }
  }

  // Labels and decoders of the WHATWG Encoding Standard (encoding_rs in the
  // bridge). A streaming decode keeps a native decoder (by handle) until the
  // stream ends, or until the TextDecoder is collected.
  const decoderRegistry =
    typeof FinalizationRegistry === "function" ? new FinalizationRegistry((handle) => host.decoderClose(handle)) : null;

  class TextDecoder {
    #encoding;
    #fatal;
    #ignoreBOM;
    #stream; // the native decoder's handle while a stream is open
    constructor(label = "utf-8", options = undefined) {
      const encoding = host.encodingName(String(label));
      if (encoding === undefined || encoding === null) {
        throw new RangeError(`TextDecoder: unsupported encoding "${label}"`);
      }
      if (options !== undefined && options !== null && typeof options !== "object" && typeof options !== "function") {
        throw new TypeError("TextDecoder: options must be an object");
      }
      this.#encoding = encoding;
      this.#fatal = !!options?.fatal;
      this.#ignoreBOM = !!options?.ignoreBOM;
    }
    get encoding() {
      return this.#encoding;
    }
    get fatal() {
      return this.#fatal;
    }
    get ignoreBOM() {
      return this.#ignoreBOM;
    }
    decode(input = undefined, options = undefined) {
      const bytes = input === undefined ? new Uint8Array(0) : toBytes(input);
      const stream = !!options?.stream;
      if (this.#stream === undefined) {
        if (!stream) return host.textDecode(this.#encoding, bytes, this.#fatal, this.#ignoreBOM);
        this.#stream = host.decoderOpen(this.#encoding, this.#ignoreBOM);
        decoderRegistry?.register(this, this.#stream, this);
      }
      const handle = this.#stream;
      if (!stream) this.#endStream();
      try {
        return host.decoderDecode(handle, bytes, this.#fatal, !stream);
      } catch (e) {
        // The native side dropped the decoder: the next call starts afresh.
        this.#endStream();
        throw e;
      }
    }
    #endStream() {
      if (this.#stream === undefined) return;
      this.#stream = undefined;
      decoderRegistry?.unregister(this);
    }
  }

  // --- base64 (HTML standard: btoa/atob) ----------------------------------------

  function btoa(data) {
    if (arguments.length === 0) throw new TypeError("btoa: 1 argument required, but only 0 present");
    const s = String(data);
    if (/[^\x00-\xff]/.test(s)) {
      throw makeError("InvalidCharacterError", "btoa: the string contains characters outside of the Latin1 range");
    }
    return host.base64Encode(s);
  }

  function atob(data) {
    if (arguments.length === 0) throw new TypeError("atob: 1 argument required, but only 0 present");
    const out = host.base64Decode(String(data));
    if (out === undefined || out === null) {
      throw makeError("InvalidCharacterError", "atob: the string to be decoded is not correctly encoded");
    }
    return out;
  }

