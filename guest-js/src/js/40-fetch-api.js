  // ---------------------------------------------------------------------------
  // Fetch API: Headers, Request, Response and their shared Body.

  const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const BAD_HEADER_VALUE = /[\0\r\n]|[^\x00-\xff]/;
  const HTTP_WS = /^[\t\n\r ]+|[\t\n\r ]+$/g;

  function isHttpWs(c) {
    return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  }

  // Strips leading and trailing HTTP whitespace; NUL, CR, LF inside a value
  // and code points above U+00FF (not a ByteString) are errors. The common
  // case (nothing to strip, nothing wrong) costs two character reads and one
  // anchored regex test; short values seen before, one Set lookup. (Counted
  // in Wasm instructions, runtime_ops: a test of the unanchored
  // /[\0\n\r\u0100-\uffff]/ cost 8,500 for "text/plain" and 65,000 for
  // 110 characters, the anchored one 6,600 and 23,500, the lookup 1,300:
  // QuickJS restarts an unanchored search at every position.)
  const ALL_GOOD = /^[^\0\n\r\u0100-\uffff]*$/;
  function normalizeHeaderValue(v) {
    v = String(v);
    const n = v.length;
    if (n === 0) return v;
    const good = (inst.goodHeaderValues ??= new Set());
    if (good.has(v)) return v;
    const a = v.charCodeAt(0);
    const z = v.charCodeAt(n - 1);
    if ((a > 0x20 || !isHttpWs(a)) && (z > 0x20 || !isHttpWs(z)) && ALL_GOOD.test(v)) {
      if (n <= 128 && good.size < 512) good.add(v);
      return v;
    }
    v = v.replace(HTTP_WS, "");
    if (BAD_HEADER_VALUE.test(v)) throw new TypeError(`invalid header value: ${JSONstringify(v)}`);
    return v;
  }

  // Valid names seen before, by their spelling -> lower case (bounded).
  function headerName(n) {
    n = String(n);
    const headerNames = (inst.headerNames ??= new Map());
    const known = headerNames.get(n);
    if (known !== undefined) return known;
    if (!HEADER_NAME.test(n)) throw new TypeError(`invalid header name: ${JSONstringify(n)}`);
    const lower = n.toLowerCase();
    if (headerNames.size < 512) headerNames.set(n, lower);
    return lower;
  }

  let headersGuard; // (headers, "immutable" | "none"): the runtime's switch
  // The runtime's own access, skipping the checks that its callers have done:
  // Raw header pairs: how a message keeps the headers it came with (from
  // the host or another instance) or was made with, until someone asks for
  // its Headers. One string, lower-case valid names and valid values
  // alternating, separated by NUL, which neither may hold ("" for none):
  // the form in which headers cross to the host (`headers` in
  // wit/types.wit).
  let headersFromPairs; // (raw header pairs) -> Headers
  let headersCopy; // (headers) -> a mutable copy
  let headersSetValid; // (headers, lower-case valid name, valid value) -> void, unless present
  let headerPairs; // (headers) -> raw header pairs, in iteration order
  let headersAdd; // (headers, lower-case valid name, valid value) -> void: appends
  let headersMutable; // (headers) -> void, or a TypeError if they are immutable

  class Headers {
    #map = new Map(); // lower-case name -> value (set-cookie: array)
    #immutable = false;
    static {
      headersGuard = (h, guard) => {
        h.#immutable = guard === "immutable";
        return h;
      };
      headersFromPairs = (raw) => {
        const h = new Headers();
        if (raw === "") return h;
        const a = raw.split("\0");
        for (let i = 0; i + 1 < a.length; i += 2) headersAdd(h, a[i], a[i + 1]);
        return h;
      };
      headersCopy = (from) => {
        const h = new Headers();
        const map = h.#map;
        // (forEach: no iterator objects.)
        from.#map.forEach((v, k) => map.set(k, ArrayIsArray(v) ? v.slice() : v));
        return h;
      };
      headersSetValid = (h, n, v) => {
        if (!h.#map.has(n)) h.#map.set(n, v);
      };
      headerPairs = (h) => {
        const map = h.#map;
        if (map.size === 0) return "";
        const out = [];
        // (forEach: no iterator objects, which cost more here than the sort.)
        if (map.size === 1) {
          map.forEach((v, n) => {
            if (ArrayIsArray(v)) for (let i = 0; i < v.length; i++) out.push(n, v[i]);
            else out.push(n, v);
          });
          return out.join("\0");
        }
        const names = [];
        map.forEach((_, n) => names.push(n));
        names.sort();
        for (let i = 0; i < names.length; i++) {
          const v = map.get(names[i]);
          if (ArrayIsArray(v)) for (let j = 0; j < v.length; j++) out.push(names[i], v[j]);
          else out.push(names[i], v);
        }
        return out.join("\0");
      };
    }
    static {
      // (Functions rather than private methods: a class with private
      // methods stamps each new instance with its brand.)
      headersAdd = (h, n, v) => {
        const map = h.#map;
        const cur = map.get(n);
        if (n === "set-cookie") {
          if (cur) cur.push(v);
          else map.set(n, [v]);
        } else {
          map.set(n, cur === undefined ? v : cur + ", " + v);
        }
      };
      headersMutable = (h) => {
        if (h.#immutable) throw new TypeError("Can't modify immutable headers.");
      };
    }
    constructor(init = undefined) {
      if (init === undefined || init === null) return;
      if (init instanceof Headers) {
        const map = this.#map;
        init.#map.forEach((v, k) => map.set(k, ArrayIsArray(v) ? v.slice() : v));
      } else if (ArrayIsArray(init) && init[Symbol.iterator] === arrayValues) {
        // (An indexed loop over a plain array: no iterator objects.)
        for (let i = 0; i < init.length; i++) {
          const pair = init[i];
          const p = typeof pair === "string" ? null : ArrayIsArray(pair) ? pair : [...pair];
          if (!p || p.length !== 2) throw new TypeError("Headers: each header must be a [name, value] pair");
          this.append(p[0], p[1]);
        }
      } else if (typeof init === "object" && typeof init[Symbol.iterator] === "function") {
        for (const pair of init) {
          const p = typeof pair === "string" ? null : ArrayIsArray(pair) ? pair : [...pair];
          if (!p || p.length !== 2) throw new TypeError("Headers: each header must be a [name, value] pair");
          this.append(p[0], p[1]);
        }
      } else if (typeof init === "object" || typeof init === "function") {
        // (An indexed loop: for-of makes an iterator object and a result per key.)
        const keys = O.keys(init);
        for (let i = 0; i < keys.length; i++) this.append(keys[i], init[keys[i]]);
      } else {
        throw new TypeError("Headers: init must be an object, an iterable of pairs or a Headers");
      }
    }
    append(name, value) {
      const n = headerName(name);
      const v = normalizeHeaderValue(value);
      if (this.#immutable) throw new TypeError("Can't modify immutable headers.");
      headersAdd(this, n, v);
    }
    set(name, value) {
      const n = headerName(name);
      const v = normalizeHeaderValue(value);
      if (this.#immutable) throw new TypeError("Can't modify immutable headers.");
      this.#map.set(n, n === "set-cookie" ? [v] : v);
    }
    get(name) {
      const v = this.#map.get(headerName(name));
      if (v === undefined) return null;
      return ArrayIsArray(v) ? v.join(", ") : v;
    }
    getSetCookie() {
      const v = this.#map.get("set-cookie");
      return v ? v.slice() : [];
    }
    getAll(name) {
      // workerd's non-standard getAll, only for Set-Cookie.
      if (headerName(name) !== "set-cookie") throw new TypeError("getAll() can only be used with the header name \"Set-Cookie\".");
      return this.getSetCookie();
    }
    has(name) {
      return this.#map.has(headerName(name));
    }
    delete(name) {
      const n = headerName(name);
      headersMutable(this);
      this.#map.delete(n);
    }
    forEach(cb, thisArg = undefined) {
      if (typeof cb !== "function") throw new TypeError("Headers.forEach: the callback must be a function");
      for (const [k, v] of this.entries()) cb.call(thisArg, v, k, this);
    }
    *entries() {
      const names = [...this.#map.keys()].sort();
      for (const n of names) {
        const v = this.#map.get(n);
        if (v === undefined) continue; // deleted while iterating
        if (ArrayIsArray(v)) for (const c of v) yield [n, c];
        else yield [n, v];
      }
    }
    *keys() {
      for (const [k] of this.entries()) yield k;
    }
    *values() {
      for (const [, v] of this.entries()) yield v;
    }
    [Symbol.iterator]() {
      return this.entries();
    }
    get [Symbol.toStringTag]() {
      return "Headers";
    }
  }

  // A body's source and its Content-Type, from any BodyInit:
  // [null | Uint8Array | ReadableStream, contentType | null]. Bytes given by
  // the caller are copied once here; the runtime's own are not copied again.
  function extractBody(body) {
    if (body === undefined || body === null) return [null, null];
    if (typeof body === "string") return [utf8Bytes(body), TEXT_PLAIN];
    if (isReadableStream(body)) {
      if (body.locked || rsOf(body).disturbed) throw new TypeError("the body stream is locked or has already been read");
      return [body, null];
    }
    // (A copy made by the intrinsic constructor: slice() would ask a
    // subclass's species for the copy.)
    if (isView(body) || brand(abByteLength, body)) return [new Uint8Array(toBytes(body)), null];
    if (body instanceof Blob) return [blobBytes(body), body.type || null];
    if (body instanceof FormData) return formDataBody(body);
    if (body instanceof URLSearchParams) {
      return [utf8Bytes(body.toString()), "application/x-www-form-urlencoded;charset=UTF-8"];
    }
    // Anything else is converted to a string, as WebIDL does for a USVString.
    return extractBody(String(body));
  }

  const USED = "Body has already been used. It can only be used once.";

  // A Request or Response keeps its message in one array, its only private
  // field (each private field costs about as much to set up as a call):
  //   [method | status, url | statusText, Headers | raw header pairs, src,
  //    stream, used, more]
  //   src: null | Uint8Array | ReadableStream (the user's), see TRUSTED
  //   stream: `body`: the user's stream, or one made on demand from src
  //   used: whether the body was read (or sent)
  //   more: the rarely set options (an object), absent while all have
  //   their defaults (see Request and Response)
  // The runtime's own constructions (TRUSTED) hand over a fresh array of
  // six that the message keeps (a stream as src is its body as well).
  // Request and Response are base classes, with Body.prototype spliced into
  // their prototype chains: a derived class's construction (a super call,
  // and fields of its own) costs twice a base class's, and the runtime
  // makes a Request and a Response at every hop.
  let requestPartsOf; // (value) -> a Request's parts, or undefined
  let responsePartsOf; // (value) -> a Response's parts, or undefined

  // The parts of a Request or Response; a TypeError for anything else.
  function partsOf(r) {
    const p = requestPartsOf(r) ?? responsePartsOf(r);
    if (p === undefined) throw new TypeError("Illegal invocation: function called with incorrect `this` reference");
    return p;
  }

  function bodyUsed(p) {
    return p[5] || (p[4] !== null && rsOf(p[4]).disturbed);
  }

  // The body's source, marking it used: null (no body), a Uint8Array (its
  // bytes, known up front) or a ReadableStream (the caller reads it); a
  // TypeError if it was already used or is locked.
  function takeSource(p) {
    if (p[3] === null) return null;
    if (bodyUsed(p)) throw new TypeError(USED);
    const stream = p[4];
    if (stream?.locked) throw new TypeError("the body stream is locked to a reader");
    p[5] = true;
    if (stream !== null) rsOf(stream).disturbed = true;
    return isReadableStream(p[3]) ? stream : p[3];
  }

  // For the runtime's own senders of a Response's parts `p`: what
  // `takeSource` gives, without its checks of a used body: null when it was
  // used (it goes out empty).
  function bodyOut(p) {
    const src = p[3];
    if (src === null || p[5]) return null;
    const stream = p[4];
    if (stream !== null) {
      const state = rsOf(stream);
      if (state.disturbed) return null;
      if (stream.locked) throw new TypeError("the body stream is locked to a reader");
      state.disturbed = true;
    }
    p[5] = true;
    return src instanceof Uint8Array ? src : stream;
  }

  // Sets the body from any BodyInit, and its Content-Type on `headers`
  // unless they have one (with no `headers`, only returns that type).
  function initBody(p, body, headers) {
    if (body === undefined || body === null) {
      p[3] = null;
      return null;
    }
    // (Indexed: destructuring goes through the array iterator, 4,500 Wasm
    // instructions against 1,000.)
    const extracted = extractBody(body);
    const src = extracted[0];
    const type = extracted[1];
    if (type !== null && headers) headersSetValid(headers, "content-type", type);
    p[3] = src;
    if (isReadableStream(src)) p[4] = src;
    return type;
  }

  // The source for a clone of the message `what` (a copy of the bytes, or
  // one half of a tee).
  function cloneSource(p, what) {
    if (bodyUsed(p)) throw new TypeError(`Cannot clone a ${what} whose body has been used.`);
    if (p[4]?.locked) throw new TypeError("the body stream is locked to a reader");
    if (p[3] === null) return null;
    if (!isReadableStream(p[3])) return new Uint8Array(p[3]);
    const [a, b] = p[4].tee();
    p[3] = p[4] = a;
    return b;
  }

  // The body's bytes for the runtime's own synchronous senders (stubs,
  // facets), marking it used: undefined when there is none; a streamed
  // body cannot be sent this way.
  function takeBytes(p) {
    if (p[3] === null) return undefined;
    const src = takeSource(p);
    if (isReadableStream(src)) throw new TypeError("a streamed body cannot be sent here; read it first (e.g. await request.arrayBuffer())");
    return src;
  }

  async function consume(p) {
    const src = takeSource(p);
    if (src === null) return new Uint8Array(0);
    return isReadableStream(src) ? readAllBytes(src) : src;
  }

  class Body {
    constructor() {
      throw new TypeError("Illegal constructor");
    }
    get body() {
      const p = partsOf(this);
      if (p[3] === null) return null;
      if (p[4] === null) {
        p[4] = bytesStream(p[3]);
        if (p[5]) rsCancel(rsOf(p[4]));
      }
      return p[4];
    }
    get bodyUsed() {
      return bodyUsed(partsOf(this));
    }
    async arrayBuffer() {
      const b = await consume(partsOf(this));
      return b.byteOffset === 0 && b.byteLength === abByteLength.call(b.buffer) ? b.buffer : b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    }
    async bytes() {
      return consume(partsOf(this));
    }
    async text() {
      // (consume inlined: one promise fewer for the common bytes body.)
      const src = takeSource(partsOf(this));
      const bytes = src === null ? new Uint8Array(0) : isReadableStream(src) ? await readAllBytes(src) : src;
      return host.textDecode("utf-8", bytes, false, false);
    }
    async json() {
      return JSONparse(await this.text());
    }
    async blob() {
      const b = await consume(partsOf(this));
      return makeBlob(b, this.headers.get("content-type") ?? "");
    }
    async formData() {
      const p = partsOf(this);
      const type = this.headers.get("content-type") ?? "";
      const essence = type.split(";")[0].trim().toLowerCase();
      if (essence === "multipart/form-data") return parseMultipart(await consume(p), type);
      if (essence === "application/x-www-form-urlencoded") {
        const fd = new FormData();
        for (const [k, v] of new URLSearchParams(await this.text())) fd.append(k, v);
        return fd;
      }
      await consume(p);
      throw new TypeError(`formData(): the Content-Type must be multipart/form-data or application/x-www-form-urlencoded (got ${JSONstringify(type)})`);
    }
  }

  // For a Request or Response `r`: see `takeSource`.
  function bodySource(r) {
    return takeSource(partsOf(r));
  }

  // Statuses whose responses have no body.
  const nullBodyStatus = (s) => s === 101 || s === 204 || s === 205 || s === 304;
  const BAD_STATUS_TEXT = /[^\t\x20-\x7e\x80-\xff]/;
  const METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"];
  const KNOWN_METHODS = new Set(METHODS); // already valid and normalized
  const FORBIDDEN_METHODS = ["CONNECT", "TRACE", "TRACK"];
  const REDIRECTS = ["follow", "error", "manual"];
  // The init of a Request or Response made without one.
  const NO_INIT = O.freeze({});

  // The runtime's own Request and Response constructions pass TRUSTED (see the
  // prelude) and the parts the host (or another instance's runtime) produced,
  // already valid: lower-case names, normalized values, a parsed URL.

  let requestPairs; // (request) -> header pairs
  let requestWire; // (request) -> what the host is sent of it (see below)

  // (See Body for the parts array: fewer private fields make cheaper
  // objects, and the runtime makes a Request and a Response at every hop.)
  class Request {
    #p; // method, url and headers are its parts 0-2; more: { redirect, signal, cf }
    static {
      requestPartsOf = (v) => (v !== null && typeof v === "object" && #p in v ? v.#p : undefined);
    }
    constructor(input, init = undefined) {
      // TRUSTED: init is [method, href, Headers | header pairs, body bytes | stream | null, null, false].
      if (input === TRUSTED) {
        this.#p = init;
        const src = init[3];
        if (src !== null && !(src instanceof Uint8Array)) init[4] = src;
        return;
      }
      const p = (this.#p = [undefined, undefined, undefined, null, null, false]);
      // (Not `arguments.length`: a function that names `arguments` makes that
      // object at every call, the runtime's own constructions included.)
      if (input === undefined) throw new TypeError("Request: 1 argument required");
      init = init ?? NO_INIT;
      if (typeof init !== "object" && typeof init !== "function") throw new TypeError("Request: init must be an object");
      let src = null;
      if (input instanceof Request) {
        src = input;
        p[1] = input.#p[1];
      } else {
        // (The href as `new URL(input).href` gives it, without the URL.)
        p[1] = host.urlParse(String(input), undefined)[0];
      }
      let method = init.method !== undefined ? String(init.method) : src ? src.#p[0] : "GET";
      if (init.method !== undefined && !KNOWN_METHODS.has(method)) {
        if (!HEADER_NAME.test(method)) throw new TypeError(`invalid HTTP method ${JSONstringify(method)}`);
        const upper = method.toUpperCase();
        if (FORBIDDEN_METHODS.includes(upper)) throw new TypeError(`the HTTP method ${upper} is forbidden`);
        if (METHODS.includes(upper)) method = upper;
      }
      p[0] = method;
      const redirect = init.redirect !== undefined ? String(init.redirect) : src ? src.redirect : "follow";
      if (redirect !== "follow" && !REDIRECTS.includes(redirect)) throw new TypeError(`invalid redirect mode ${JSONstringify(redirect)}`);
      if (init.signal !== undefined && init.signal !== null && !(init.signal instanceof AbortSignal)) {
        throw new TypeError("Request: signal must be an AbortSignal");
      }
      const srcMore = src ? src.#p[6] : undefined;
      const signal = init.signal !== undefined ? init.signal : srcMore !== undefined ? srcMore.signal : null;
      const cf = init.cf !== undefined ? init.cf : srcMore !== undefined ? srcMore.cf : undefined;
      if (redirect !== "follow" || signal !== null || cf !== undefined) p[6] = { redirect, signal, cf };
      // With no headers given, raw header pairs (only the body's
      // Content-Type), as `new Response(text)` keeps them: a Headers object
      // is made on demand. A source Request's raw pairs are shared (a
      // string) while no new body needs its Content-Type added.
      let headers = null;
      if (init.headers !== undefined) {
        headers = p[2] = new Headers(init.headers);
      } else if (src !== null) {
        const from = src.#p[2];
        if (typeof from === "string" && init.body === undefined) p[2] = from;
        else headers = p[2] = typeof from === "string" ? headersFromPairs(from) : new Headers(from);
      }
      const hasBody = init.body !== undefined && init.body !== null;
      const inherits = !hasBody && init.body === undefined && src !== null && src.#p[3] !== null;
      if ((hasBody || inherits) && (method === "GET" || method === "HEAD")) {
        throw new TypeError("Request with a GET or HEAD method cannot have a body.");
      }
      if (inherits) {
        const from = takeSource(src.#p);
        p[3] = from;
        p[4] = isReadableStream(from) ? from : null;
      } else {
        const type = initBody(p, init.body, headers);
        if (headers === null && p[2] === undefined) p[2] = type === null ? NO_PAIRS : type === TEXT_PLAIN ? TEXT_PLAIN_PAIRS : "content-type\0" + type;
      }
    }
    get method() { return this.#p[0]; }
    get url() { return this.#p[1]; }
    get headers() {
      const p = this.#p;
      const h = p[2];
      return h instanceof Headers ? h : (p[2] = headersFromPairs(h));
    }
    static {
      // The header pairs to send on: the ones it came with while no one looked.
      requestPairs = (r) => {
        const h = r.#p[2];
        return h instanceof Headers ? headerPairs(h) : h;
      };
      // What the runtime's senders (stubs, facets, loaded code) hand the
      // host: the Request's own parts while its headers are raw pairs and
      // its body is bytes at hand or none (the body is then marked used),
      // else [method, url, header pairs, body bytes or undefined] (see
      // to_request in bridge.rs).
      requestWire = (r) => {
        const p = r.#p;
        const h = p[2];
        const src = p[3];
        if (p[4] === null && !p[5] && (src === null || src instanceof Uint8Array) && !(h instanceof Headers)) {
          if (src !== null) p[5] = true;
          return p;
        }
        return [p[0], p[1], h instanceof Headers ? headerPairs(h) : h, takeBytes(p)];
      };
    }
    get redirect() { const more = this.#p[6]; return more === undefined ? "follow" : more.redirect; }
    get signal() {
      const more = (this.#p[6] ??= { redirect: "follow", signal: null, cf: undefined });
      return (more.signal ??= newSignal());
    }
    get cf() { const more = this.#p[6]; return more === undefined ? undefined : more.cf; }
    get fetcher() { return null; }
    get keepalive() { return false; }
    get integrity() { return ""; }
    get cache() { return undefined; }
    clone() {
      const p = this.#p;
      const h = p[2];
      const r = new Request(TRUSTED, [p[0], p[1], h instanceof Headers ? headersCopy(h) : h, cloneSource(p, "Request"), null, false]);
      const more = p[6];
      if (more !== undefined) r.#p[6] = { redirect: more.redirect, signal: more.signal, cf: more.cf };
      return r;
    }
    get [Symbol.toStringTag]() {
      return "Request";
    }
  }

  let responseMeta; // (response, { url, redirected, type }): for the runtime's fetch
  let responseMore; // (response) -> its rarely set options (made on demand)

  // Raw header pairs of Responses made from a string, JSON or nothing (a
  // Headers object is made from them on first use).
  const TEXT_PLAIN = "text/plain;charset=UTF-8";
  const TEXT_PLAIN_PAIRS = "content-type\0" + TEXT_PLAIN;
  const NO_PAIRS = "";
  const JSON_PAIRS = "content-type\0application/json";

  class Response {
    #p; // status, statusText and headers are its parts 0-2; more: { type, url, redirected, webSocket, cf }
    static {
      responsePartsOf = (v) => (v !== null && typeof v === "object" && #p in v ? v.#p : undefined);
      responseMore = (r) => (r.#p[6] ??= { type: "default", url: "", redirected: false, webSocket: null, cf: undefined });
      responseMeta = (r, meta) => {
        const more = responseMore(r);
        if (meta.url !== undefined) more.url = String(meta.url);
        if (meta.redirected !== undefined) more.redirected = !!meta.redirected;
        if (meta.type !== undefined) more.type = meta.type;
        return r;
      };
    }
    constructor(body = null, init = undefined) {
      // TRUSTED: init is [status, statusText, Headers | header pairs, body bytes | stream | null, null, false].
      if (body === TRUSTED) {
        this.#p = init;
        const src = init[3];
        if (src !== null && !(src instanceof Uint8Array)) init[4] = src;
        return;
      }
      if (init === undefined && (typeof body === "string" || body === null || body === undefined)) {
        // The common `new Response(text)`: status 200, only Content-Type, no
        // Headers object until someone asks for one.
        this.#p = typeof body === "string" ? [200, "", TEXT_PLAIN_PAIRS, utf8Bytes(body), null, false] : [200, "", NO_PAIRS, null, null, false];
        return;
      }
      const p = (this.#p = [200, "", NO_PAIRS, null, null, false]);
      init = init ?? NO_INIT;
      if (typeof init !== "object" && typeof init !== "function") throw new TypeError("Response: init must be an object");
      const status = init.status === undefined ? 200 : Number(init.status);
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        if (!(status === 101 && init.webSocket)) {
          throw new RangeError(`Responses may only be constructed with status codes in the range 200 to 599, inclusive (got ${init.status}).`);
        }
      }
      const statusText = init.statusText === undefined ? "" : String(init.statusText);
      if (statusText !== "" && BAD_STATUS_TEXT.test(statusText)) throw new TypeError(`invalid statusText ${JSONstringify(statusText)}`);
      p[0] = status;
      p[1] = statusText;
      const webSocket = init.webSocket ?? null;
      const cf = init.cf;
      if (webSocket !== null || cf !== undefined) p[6] = { type: "default", url: "", redirected: false, webSocket, cf };
      // With no headers given, raw header pairs (only the body's
      // Content-Type), as `new Response(text)` keeps them.
      const given = init.headers;
      const headers = given === undefined ? null : (p[2] = new Headers(given));
      if (body !== null && body !== undefined && nullBodyStatus(status)) {
        throw new TypeError(`Response with null body status (${status}) cannot have a body.`);
      }
      const type = initBody(p, body, headers);
      if (headers === null) p[2] = type === null ? NO_PAIRS : type === TEXT_PLAIN ? TEXT_PLAIN_PAIRS : "content-type\0" + type;
    }
    static json(data, init = undefined) {
      const text = JSONstringify(data);
      if (text === undefined) throw new TypeError("Response.json: value is not JSON-serializable");
      // Without init (the common case): status 200 and the one header, as
      // raw pairs (a Headers object is made when asked for).
      if (init === undefined) return new Response(TRUSTED, [200, "", JSON_PAIRS, utf8Bytes(text), null, false]);
      if (init !== null && typeof init === "object" && init.headers === undefined) {
        // (The init's status and the rest checked as for any Response; its
        // one header is then the JSON type instead of text/plain.)
        const r = new Response(text, init);
        r.#p[2] = JSON_PAIRS;
        return r;
      }
      const headers = new Headers(init?.headers);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
      return new Response(text, { ...init, headers });
    }
    static redirect(url, status = 302) {
      status = Number(status);
      if (![301, 302, 303, 307, 308].includes(status)) throw new RangeError(`invalid redirect status ${status}`);
      const r = new Response(null, { status, headers: { location: new URL(String(url)).href } });
      headersGuard(r.headers, "immutable");
      return r;
    }
    static error() {
      const r = new Response(null, { status: 200 });
      r.#p[0] = 0;
      responseMore(r).type = "error";
      headersGuard(r.headers, "immutable");
      return r;
    }
    get status() { return this.#p[0]; }
    get statusText() { return this.#p[1]; }
    get ok() {
      const status = this.#p[0];
      return status >= 200 && status <= 299;
    }
    get headers() {
      const p = this.#p;
      const h = p[2];
      return h instanceof Headers ? h : (p[2] = headersFromPairs(h));
    }
    get type() { const more = this.#p[6]; return more === undefined ? "default" : more.type; }
    get url() { const more = this.#p[6]; return more === undefined ? "" : more.url; }
    get redirected() { const more = this.#p[6]; return more === undefined ? false : more.redirected; }
    get webSocket() { const more = this.#p[6]; return more === undefined ? null : more.webSocket; }
    get cf() { const more = this.#p[6]; return more === undefined ? undefined : more.cf; }
    clone() {
      const p = this.#p;
      const more = p[6];
      if (more !== undefined && more.webSocket) throw new TypeError("Cannot clone a Response with a WebSocket.");
      const h = p[2];
      const r = new Response(TRUSTED, [p[0], p[1], h instanceof Headers ? headersCopy(h) : h, cloneSource(p, "Response"), null, false]);
      if (more !== undefined) r.#p[6] = { type: more.type, url: more.url, redirected: more.redirected, webSocket: null, cf: more.cf };
      return r;
    }
    get [Symbol.toStringTag]() {
      return "Response";
    }
  }
  // Body's methods and getters for both (see Body).
  for (const C of [Request, Response]) {
    O.setPrototypeOf(C.prototype, Body.prototype);
  }


