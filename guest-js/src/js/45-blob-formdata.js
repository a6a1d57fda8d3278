  // ---------------------------------------------------------------------------
  // Blob, File (W3C File API) and FormData (XHR standard), with multipart
  // serialisation here and parsing in the native half (web.rs, multer).

  let blobBytes; // Blob -> its bytes (shared, never mutated)
  let blobSet; // (blob, bytes, type): sets a new Blob's contents without a copy
  const EMPTY = new Uint8Array(0);

  function blobType(type) {
    type = type === undefined ? "" : String(type);
    return /[^\x20-\x7e]/.test(type) ? "" : type.toLowerCase();
  }

  class Blob {
    #bytes;
    #type;
    static {
      blobBytes = (b) => b.#bytes;
      blobSet = (b, bytes, type) => {
        b.#bytes = bytes;
        b.#type = type;
        return b;
      };
    }
    constructor(parts = undefined, options = undefined) {
      if (parts === undefined) this.#bytes = EMPTY;
      else {
        if (parts === null || typeof parts !== "object" || typeof parts[Symbol.iterator] !== "function") {
          throw new TypeError("Blob: the parts must be an iterable");
        }
        const chunks = [];
        let total = 0;
        for (const p of parts) {
          const b = p instanceof Blob ? p.#bytes : isView(p) || brand(abByteLength, p) ? toBytes(p) : utf8Bytes(String(p));
          chunks.push(b);
          total += b.byteLength;
        }
        this.#bytes = concatBytes(chunks, total);
      }
      this.#type = blobType(options?.type);
    }
    get size() { return this.#bytes.byteLength; }
    get type() { return this.#type; }
    slice(start = 0, end = undefined, contentType = undefined) {
      const size = this.#bytes.byteLength;
      const rel = (n, dflt) => {
        n = n === undefined ? dflt : Math.trunc(Number(n)) || 0;
        return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
      };
      const from = rel(start, 0);
      const to = Math.max(rel(end, size), from);
      return makeBlob(this.#bytes.subarray(from, to), blobType(contentType));
    }
    async arrayBuffer() {
      return this.#bytes.slice().buffer;
    }
    async bytes() {
      return this.#bytes.slice();
    }
    async text() {
      return host.textDecode("utf-8", this.#bytes, false, false);
    }
    stream() {
      return bytesStream(this.#bytes.slice());
    }
    get [Symbol.toStringTag]() {
      return "Blob";
    }
  }

  // A Blob over `bytes` (not copied: the caller gives them up).
  function makeBlob(bytes, type) {
    return blobSet(new Blob(), bytes, blobType(type));
  }

  class File extends Blob {
    #name;
    #lastModified;
    constructor(bits, name, options = undefined) {
      if (arguments.length < 2) throw new TypeError("File: 2 arguments required");
      super(bits, options);
      this.#name = String(name);
      this.#lastModified = options?.lastModified === undefined ? Date.now() : Math.trunc(Number(options.lastModified)) || 0;
    }
    get name() { return this.#name; }
    get lastModified() { return this.#lastModified; }
    get [Symbol.toStringTag]() {
      return "File";
    }
  }

  function makeFile(bytes, name, type) {
    const f = new File([], name, { type });
    return blobSet(f, bytes, blobType(type));
  }

  // FormData's entry value: a string, or a File (a Blob becomes a File named "blob").
  function formValue(value, filename) {
    if (!(value instanceof Blob)) return String(value);
    if (value instanceof File && filename === undefined) return value;
    const name = filename !== undefined ? String(filename) : value instanceof File ? value.name : "blob";
    const f = new File([], name, { type: value.type, lastModified: value instanceof File ? value.lastModified : undefined });
    return blobSet(f, blobBytes(value), value.type);
  }

  class FormData {
    #list = [];
    constructor(form = undefined) {
      if (form !== undefined) throw new TypeError("FormData: a form element is not supported here");
    }
    append(name, value, filename = undefined) {
      this.#list.push([String(name), formValue(value, filename)]);
    }
    set(name, value, filename = undefined) {
      name = String(name);
      const entry = [name, formValue(value, filename)];
      const i = this.#list.findIndex(([k]) => k === name);
      if (i < 0) this.#list.push(entry);
      else {
        this.#list = this.#list.filter(([k], j) => j < i || k !== name);
        this.#list.splice(i, 0, entry);
      }
    }
    get(name) {
      name = String(name);
      const e = this.#list.find(([k]) => k === name);
      return e ? e[1] : null;
    }
    getAll(name) {
      name = String(name);
      return this.#list.filter(([k]) => k === name).map(([, v]) => v);
    }
    has(name) {
      name = String(name);
      return this.#list.some(([k]) => k === name);
    }
    delete(name) {
      name = String(name);
      this.#list = this.#list.filter(([k]) => k !== name);
    }
    forEach(cb, thisArg = undefined) {
      for (const [k, v] of this.entries()) cb.call(thisArg, v, k, this);
    }
    *entries() {
      for (let i = 0; i < this.#list.length; i++) yield [this.#list[i][0], this.#list[i][1]];
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
      return "FormData";
    }
  }

  // multipart/form-data (RFC 7578, as the HTML standard serialises it).
  function formDataBody(fd) {
    const random = new Uint8Array(host.randomBytes(12));
    const boundary = "----FacetsFormBoundary" + [...random].map((b) => (b < 16 ? "0" : "") + b.toString(16)).join("");
    const escape = (s) => s.replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22");
    const parts = [];
    for (const [name, value] of fd) {
      let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escape(name.replace(/\r\n|\r|\n/g, "\r\n"))}"`;
      if (typeof value === "string") {
        parts.push(head + "\r\n\r\n", value.replace(/\r\n|\r|\n/g, "\r\n"), "\r\n");
      } else {
        head += `; filename="${escape(value.name)}"\r\nContent-Type: ${value.type || "application/octet-stream"}\r\n\r\n`;
        parts.push(head, value, "\r\n");
      }
    }
    parts.push(`--${boundary}--\r\n`);
    return [blobBytes(new Blob(parts)), `multipart/form-data; boundary=${boundary}`];
  }

  function parseMultipart(bytes, contentType) {
    const fd = new FormData();
    // [name, filename | undefined, content type | undefined, bytes] per part.
    for (const [name, filename, type, data] of host.multipartParse(contentType, bytes)) {
      const b = new Uint8Array(data);
      if (filename === undefined) fd.append(name, host.textDecode("utf-8", b, false, false));
      else fd.append(name, makeFile(b, filename, type ?? ""));
    }
    return fd;
  }
