  // ---------------------------------------------------------------------------
  // URL (parsing by the `url` crate, WHATWG) and URLSearchParams.


  function formEncode(s) {
    const u8 = utf8Bytes(s);
    let out = "";
    for (let i = 0; i < u8.length; i++) {
      const c = u8[i];
      if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2a || c === 0x2d || c === 0x2e || c === 0x5f) {
        out += String.fromCharCode(c);
      } else if (c === 0x20) {
        out += "+";
      } else {
        out += "%" + (c < 16 ? "0" : "") + c.toString(16).toUpperCase();
      }
    }
    return out;
  }

  class URLSearchParams {
    // [[name, value], ...], or a query not split yet (a string: get() reads
    // it as it is; the rest split it on first need).
    #list;
    #url = null;
    constructor(init = "", url = undefined, search = undefined) {
      if (init === TRUSTED) {
        // A URL's own `searchParams`: attached to it, its query split on first need.
        this.#url = url;
        this.#parse(search);
        return;
      }
      this.#list = [];
      if (typeof init === "object" && init !== null) {
        if (typeof init[Symbol.iterator] === "function") {
          for (const pair of init) {
            const p = [...pair];
            if (p.length !== 2) throw new TypeError("URLSearchParams: each pair must have exactly two items");
            this.#list.push([String(p[0]), String(p[1])]);
          }
        } else {
          for (const k of O.keys(init)) this.#list.push([k, String(init[k])]);
        }
      } else {
        this.#parse(String(init));
      }
    }
    #parse(s) {
      // Split on "&" and "=", "+" as space, percent-decoded (the host's
      // parser), when the list is first needed.
      this.#list = s.length === 0 || s === "?" ? [] : s.charCodeAt(0) === 0x3f ? s.slice(1) : s;
    }
    #items() {
      if (typeof this.#list === "string") this.#list = host.formParse(this.#list);
      return this.#list;
    }
    static _reparse(params, search) {
      params.#parse(search);
    }
    #update() {
      if (this.#url) URL._setSearchFromParams(this.#url, this.toString());
    }
    get size() {
      this.#items();
      return this.#list.length;
    }
    append(name, value) {
      this.#items();
      this.#list.push([String(name), String(value)]);
      this.#update();
    }
    delete(name, value) {
      this.#items();
      name = String(name);
      this.#list = this.#list.filter(([k, v]) => !(k === name && (value === undefined || v === String(value))));
      this.#update();
    }
    get(name) {
      name = String(name);
      const list = this.#list;
      if (typeof list === "string") return host.formGet(list, name) ?? null;
      for (let i = 0; i < list.length; i++) if (list[i][0] === name) return list[i][1];
      return null;
    }
    getAll(name) {
      this.#items();
      name = String(name);
      return this.#list.filter(([k]) => k === name).map(([, v]) => v);
    }
    has(name, value) {
      this.#items();
      name = String(name);
      return this.#list.some(([k, v]) => k === name && (value === undefined || v === String(value)));
    }
    set(name, value) {
      this.#items();
      name = String(name);
      value = String(value);
      const i = this.#list.findIndex(([k]) => k === name);
      if (i < 0) this.#list.push([name, value]);
      else {
        this.#list[i][1] = value;
        this.#list = this.#list.filter(([k], j) => j <= i || k !== name);
      }
      this.#update();
    }
    sort() {
      this.#items();
      this.#list = this.#list
        .map((e, i) => [e, i])
        .sort((a, b) => (a[0][0] < b[0][0] ? -1 : a[0][0] > b[0][0] ? 1 : a[1] - b[1]))
        .map(([e]) => e);
      this.#update();
    }
    forEach(cb, thisArg) {
      this.#items();
      for (const [k, v] of this.#list) cb.call(thisArg, v, k, this);
    }
    *entries() {
      this.#items();
      for (const [k, v] of this.#list) yield [k, v];
    }
    *keys() {
      this.#items();
      for (const [k] of this.#list) yield k;
    }
    *values() {
      this.#items();
      for (const [, v] of this.#list) yield v;
    }
    [Symbol.iterator]() {
      return this.entries();
    }
    toString() {
      this.#items();
      return this.#list.map(([k, v]) => formEncode(k) + "=" + formEncode(v)).join("&");
    }
    get [Symbol.toStringTag]() {
      return "URLSearchParams";
    }
  }

  class URL {
    // The host's parts: [href, pathname, search] from urlParse, or all of
    // them (see url_parts in bridge.rs) once another is asked for. (One
    // field rather than one per part: each costs about a call to set up.)
    #p;
    #params = null;
    constructor(url, base) {
      this.#p = host.urlParse(String(url), base === undefined ? undefined : String(base));
    }
    #all() {
      const p = this.#p;
      return p.length === 3 ? (this.#p = host.urlParts(p[0])) : p;
    }
    #take(parts) {
      this.#p = parts;
    }
    static canParse(url, base) {
      try {
        new URL(url, base);
        return true;
      } catch {
        return false;
      }
    }
    static parse(url, base) {
      try {
        return new URL(url, base);
      } catch {
        return null;
      }
    }
    static _setSearchFromParams(url, query) {
      url.#take(host.urlSet(url.#p[0], "search", query));
    }
    #set(part, value) {
      this.#take(host.urlSet(this.#p[0], part, String(value)));
      if (this.#params && (part === "search" || part === "href")) URLSearchParams._reparse(this.#params, this.search);
    }
    get href() { return this.#p[0]; }
    set href(v) { this.#set("href", v); }
    get origin() { return this.#all()[1]; }
    get protocol() { return this.#all()[2]; }
    set protocol(v) { this.#set("protocol", v); }
    get username() { return this.#all()[3]; }
    set username(v) { this.#set("username", v); }
    get password() { return this.#all()[4]; }
    set password(v) { this.#set("password", v); }
    get host() { return this.#all()[5]; }
    set host(v) { this.#set("host", v); }
    get hostname() { return this.#all()[6]; }
    set hostname(v) { this.#set("hostname", v); }
    get port() { return this.#all()[7]; }
    set port(v) { this.#set("port", v); }
    get pathname() { const p = this.#p; return p.length === 3 ? p[1] : p[8]; }
    set pathname(v) { this.#set("pathname", v); }
    get search() { const p = this.#p; return p.length === 3 ? p[2] : p[9]; }
    set search(v) { this.#set("search", v); }
    get hash() { return this.#all()[10]; }
    set hash(v) { this.#set("hash", v); }
    get searchParams() {
      if (!this.#params) {
        this.#params = new URLSearchParams(TRUSTED, this, this.search);
      }
      return this.#params;
    }
    toString() { return this.#p[0]; }
    toJSON() { return this.#p[0]; }
    get [Symbol.toStringTag]() { return "URL"; }
  }

