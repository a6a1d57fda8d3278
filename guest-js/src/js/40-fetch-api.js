  // ---------------------------------------------------------------------------
  // Fetch API (minimal; bodies are buffered).

  const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

  function normalizeHeaderValue(v) {
    v = String(v).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
    if (/[\0\r\n]/.test(v)) throw new TypeError(`invalid header value: ${JSONstringify(v)}`);
    return v;
  }

  function headerName(n) {
    n = String(n);
    if (!HEADER_NAME.test(n)) throw new TypeError(`invalid header name: ${JSONstringify(n)}`);
    return n.toLowerCase();
  }

  class Headers {
    #map = new Map(); // lower-case name -> value (set-cookie: array)
    constructor(init) {
      if (init === undefined || init === null) return;
      if (init instanceof Headers) {
        for (const [k, v] of init.#map) this.#map.set(k, ArrayIsArray(v) ? v.slice() : v);
      } else if (typeof init[Symbol.iterator] === "function") {
        for (const pair of init) {
          const p = [...pair];
          if (p.length !== 2) throw new TypeError("Headers: each header must be a [name, value] pair");
          this.append(p[0], p[1]);
        }
      } else if (typeof init === "object") {
        for (const k of O.keys(init)) this.append(k, init[k]);
      } else {
        throw new TypeError("Headers: init must be an object, an iterable of pairs or a Headers");
      }
    }
    append(name, value) {
      const n = headerName(name);
      const v = normalizeHeaderValue(value);
      const cur = this.#map.get(n);
      if (n === "set-cookie") {
        if (cur) cur.push(v);
        else this.#map.set(n, [v]);
      } else {
        this.#map.set(n, cur === undefined ? v : cur + ", " + v);
      }
    }
    set(name, value) {
      const n = headerName(name);
      const v = normalizeHeaderValue(value);
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
    has(name) {
      return this.#map.has(headerName(name));
    }
    delete(name) {
      this.#map.delete(headerName(name));
    }
    forEach(cb, thisArg) {
      for (const [k, v] of this.entries()) cb.call(thisArg, v, k, this);
    }
    *entries() {
      const names = [...this.#map.keys()].sort();
      for (const n of names) {
        const v = this.#map.get(n);
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

  function extractBody(body, headers) {
    if (body === undefined || body === null) return null;
    if (typeof body === "string") {
      if (headers && !headers.has("content-type")) headers.set("content-type", "text/plain;charset=UTF-8");
      return new Uint8Array(host.utf8Encode(body));
    }
    if (body instanceof URLSearchParams) {
      if (headers && !headers.has("content-type")) headers.set("content-type", "application/x-www-form-urlencoded;charset=UTF-8");
      return new Uint8Array(host.utf8Encode(body.toString()));
    }
    if (isView(body) || brand(abByteLength, body)) return toBytes(body).slice();
    // Anything else is converted to a string, as the Fetch spec does.
    return extractBody(String(body), headers);
  }

  class Body {
    #bytes;
    #used = false;
    _initBody(bytes) {
      this.#bytes = bytes;
    }
    get body() {
      return this.#bytes;
    }
    get bodyUsed() {
      return this.#used;
    }
    _take() {
      if (this.#used) throw new TypeError("Body has already been used. It can only be used once.");
      this.#used = true;
      return this.#bytes || new Uint8Array(0);
    }
    _peek() {
      return this.#bytes;
    }
    async arrayBuffer() {
      const b = this._take();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    }
    async bytes() {
      return this._take().slice();
    }
    async text() {
      return host.utf8Decode(this._take(), false);
    }
    async json() {
      return JSONparse(await this.text());
    }
  }

  const NULL_BODY_STATUS = [101, 204, 205, 304];
  const METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"];

  class Request extends Body {
    #method;
    #url;
    #headers;
    #redirect;
    constructor(input, init = {}) {
      super();
      let src = null;
      if (input instanceof Request) {
        src = input;
        this.#url = input.url;
      } else {
        this.#url = new URL(String(input)).href;
      }
      let method = init.method !== undefined ? String(init.method) : src ? src.method : "GET";
      if (METHODS.includes(method.toUpperCase())) method = method.toUpperCase();
      this.#method = method;
      this.#headers = new Headers(init.headers !== undefined ? init.headers : src ? src.headers : undefined);
      this.#redirect = init.redirect || (src ? src.redirect : "follow");
      let bytes = null;
      if (init.body !== undefined && init.body !== null) bytes = extractBody(init.body, this.#headers);
      else if (src && init.body === undefined) bytes = src._peek() ? src._take() : null;
      if (bytes && (method === "GET" || method === "HEAD")) {
        throw new TypeError("Request with a GET or HEAD method cannot have a body.");
      }
      this._initBody(bytes);
    }
    get method() { return this.#method; }
    get url() { return this.#url; }
    get headers() { return this.#headers; }
    get redirect() { return this.#redirect; }
    get signal() { return undefined; }
    get cf() { return undefined; }
    clone() {
      if (this.bodyUsed) throw new TypeError("Cannot clone a Request whose body has been used.");
      const b = this._peek();
      return new Request(this, { body: b ? b.slice() : null, headers: this.#headers });
    }
    get [Symbol.toStringTag]() {
      return "Request";
    }
  }

  class Response extends Body {
    #status;
    #statusText;
    #headers;
    #type = "default";
    #url = "";
    constructor(body = null, init = {}) {
      super();
      const status = init.status === undefined ? 200 : Number(init.status);
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        if (!(status === 101 && init.webSocket)) {
          throw new RangeError(`Responses may only be constructed with status codes in the range 200 to 599, inclusive (got ${init.status}).`);
        }
      }
      this.#status = status;
      this.#statusText = init.statusText === undefined ? "" : String(init.statusText);
      this.#headers = new Headers(init.headers);
      if (body !== null && body !== undefined && NULL_BODY_STATUS.includes(status)) {
        throw new TypeError(`Response with null body status (${status}) cannot have a body.`);
      }
      this._initBody(extractBody(body, this.#headers));
    }
    static json(data, init = {}) {
      const text = JSONstringify(data);
      if (text === undefined) throw new TypeError("Response.json: value is not JSON-serializable");
      const headers = new Headers(init.headers);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
      return new Response(text, { ...init, headers });
    }
    static redirect(url, status = 302) {
      if (![301, 302, 303, 307, 308].includes(status)) throw new RangeError(`invalid redirect status ${status}`);
      return new Response(null, { status, headers: { location: new URL(String(url)).href } });
    }
    static error() {
      const r = new Response(null, { status: 200 });
      r.#status = 0;
      r.#type = "error";
      return r;
    }
    get status() { return this.#status; }
    get statusText() { return this.#statusText; }
    get ok() { return this.#status >= 200 && this.#status <= 299; }
    get headers() { return this.#headers; }
    get type() { return this.#type; }
    get url() { return this.#url; }
    get redirected() { return false; }
    get webSocket() { return null; }
    clone() {
      if (this.bodyUsed) throw new TypeError("Cannot clone a Response whose body has been used.");
      const b = this._peek();
      return new Response(b ? b.slice() : null, { status: this.#status, statusText: this.#statusText, headers: this.#headers });
    }
    get [Symbol.toStringTag]() {
      return "Response";
    }
  }

  function headerPairs(headers) {
    const out = [];
    for (const [k, v] of headers) out.push([k, v]);
    return out;
  }

