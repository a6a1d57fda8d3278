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

  // A query as URLSearchParams keeps it until it is split: without its "?"
  // (or [] when empty).
  const unsplitQuery = (s) => (s.length === 0 || s === "?" ? [] : s.charCodeAt(0) === 0x3f ? s.slice(1) : s);

  // (Functions of the classes' static blocks rather than private methods: a
  // class with private methods stamps each new instance with its brand.)
  let paramsReparse; // (params, search) -> void: its URL's query changed
  let paramsItems; // (params) -> its list, split
  let paramsUpdate; // (params) -> void: writes its list to its URL
  let urlSetSearch; // (url, query) -> void: its searchParams changed
  let urlAll; // (url) -> all of its parts
  let urlSetPart; // (url, part, value) -> void

  class URLSearchParams {
    // [[name, value], ...], or a query not split yet (a string: get() reads
    // it as it is; the rest split it on first need).
    #list;
    #url = null;
    constructor(init = "", url = undefined, search = undefined) {
      if (init === TRUSTED) {
        // A URL's own `searchParams`: attached to it, its query split on first need.
        this.#url = url;
        this.#list = unsplitQuery(search);
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
        this.#list = unsplitQuery(String(init));
      }
    }
    static {
      paramsReparse = (params, search) => {
        params.#list = unsplitQuery(search);
      };
      // The list, split (on "&" and "=", "+" as space, percent-decoded, by
      // the host's parser) on first need.
      paramsItems = (params) => {
        const list = params.#list;
        return typeof list === "string" ? (params.#list = host.formParse(list)) : list;
      };
      paramsUpdate = (params) => {
        if (params.#url) urlSetSearch(params.#url, params.toString());
      };
    }
    get size() {
      paramsItems(this);
      return this.#list.length;
    }
    append(name, value) {
      paramsItems(this);
      this.#list.push([String(name), String(value)]);
      paramsUpdate(this);
    }
    delete(name, value) {
      paramsItems(this);
      name = String(name);
      this.#list = this.#list.filter(([k, v]) => !(k === name && (value === undefined || v === String(value))));
      paramsUpdate(this);
    }
    get(name) {
      name = String(name);
      const list = this.#list;
      if (typeof list === "string") return host.formGet(list, name) ?? null;
      for (let i = 0; i < list.length; i++) if (list[i][0] === name) return list[i][1];
      return null;
    }
    getAll(name) {
      paramsItems(this);
      name = String(name);
      return this.#list.filter(([k]) => k === name).map(([, v]) => v);
    }
    has(name, value) {
      paramsItems(this);
      name = String(name);
      return this.#list.some(([k, v]) => k === name && (value === undefined || v === String(value)));
    }
    set(name, value) {
      paramsItems(this);
      name = String(name);
      value = String(value);
      const i = this.#list.findIndex(([k]) => k === name);
      if (i < 0) this.#list.push([name, value]);
      else {
        this.#list[i][1] = value;
        this.#list = this.#list.filter(([k], j) => j <= i || k !== name);
      }
      paramsUpdate(this);
    }
    sort() {
      paramsItems(this);
      this.#list = this.#list
        .map((e, i) => [e, i])
        .sort((a, b) => (a[0][0] < b[0][0] ? -1 : a[0][0] > b[0][0] ? 1 : a[1] - b[1]))
        .map(([e]) => e);
      paramsUpdate(this);
    }
    forEach(cb, thisArg) {
      paramsItems(this);
      for (const [k, v] of this.#list) cb.call(thisArg, v, k, this);
    }
    *entries() {
      paramsItems(this);
      for (const [k, v] of this.#list) yield [k, v];
    }
    *keys() {
      paramsItems(this);
      for (const [k] of this.#list) yield k;
    }
    *values() {
      paramsItems(this);
      for (const [, v] of this.#list) yield v;
    }
    [Symbol.iterator]() {
      return this.entries();
    }
    toString() {
      paramsItems(this);
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
    static {
      // All of the parts, asked for once one that urlParse did not give is.
      urlAll = (u) => {
        const p = u.#p;
        return p.length === 3 ? (u.#p = host.urlParts(p[0])) : p;
      };
      urlSetPart = (u, part, value) => {
        u.#p = host.urlSet(u.#p[0], part, String(value));
        if (u.#params && (part === "search" || part === "href")) paramsReparse(u.#params, u.search);
      };
      urlSetSearch = (u, query) => {
        u.#p = host.urlSet(u.#p[0], "search", query);
      };
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
    get href() { return this.#p[0]; }
    set href(v) { urlSetPart(this, "href", v); }
    get origin() { return urlAll(this)[1]; }
    get protocol() { return urlAll(this)[2]; }
    set protocol(v) { urlSetPart(this, "protocol", v); }
    get username() { return urlAll(this)[3]; }
    set username(v) { urlSetPart(this, "username", v); }
    get password() { return urlAll(this)[4]; }
    set password(v) { urlSetPart(this, "password", v); }
    get host() { return urlAll(this)[5]; }
    set host(v) { urlSetPart(this, "host", v); }
    get hostname() { return urlAll(this)[6]; }
    set hostname(v) { urlSetPart(this, "hostname", v); }
    get port() { return urlAll(this)[7]; }
    set port(v) { urlSetPart(this, "port", v); }
    get pathname() { const p = this.#p; return p.length === 3 ? p[1] : p[8]; }
    set pathname(v) { urlSetPart(this, "pathname", v); }
    get search() { const p = this.#p; return p.length === 3 ? p[2] : p[9]; }
    set search(v) { urlSetPart(this, "search", v); }
    get hash() { return urlAll(this)[10]; }
    set hash(v) { urlSetPart(this, "hash", v); }
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

