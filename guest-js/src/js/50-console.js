  // ---------------------------------------------------------------------------
  // console: values formatted the way Node's util.inspect (and so workerd)
  // shows them: quoted nested strings, `Class { ... }`, Map/Set/typed arrays,
  // errors with their stack, [Object] beyond depth 2, <ref *n>/[Circular *n]
  // for cycles, and lines broken past 80 columns.

  const IDENT = /^[A-Za-z_$][\w$]*$/;
  const MAX_ITEMS = 100;

  function quote(s) {
    const q = !s.includes("'") ? "'" : !s.includes('"') ? '"' : !s.includes("`") ? "`" : "'";
    const esc = s.replace(/[\\\n\r\t\b\f\v\0]/g, (c) => ({ "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f", "\v": "\\v", "\0": "\\0" })[c]);
    return q + (q === "'" ? esc.replace(/'/g, "\\'") : esc) + q;
  }

  function fnName(f) {
    let src = "";
    try {
      src = Function.prototype.toString.call(f);
    } catch {}
    const name = typeof f.name === "string" && f.name ? f.name : "";
    if (src.startsWith("class")) return `[class ${name || "(anonymous)"}]`;
    return name ? `[Function: ${name}]` : "[Function (anonymous)]";
  }

  function errorText(e) {
    let head;
    try {
      head = `${e.name}: ${e.message}`;
      if (e.message === "" || e.message === undefined) head = String(e.name);
    } catch {
      head = "Error";
    }
    const stack = typeof e.stack === "string" ? e.stack.trimEnd() : "";
    if (!stack) return head;
    return stack.startsWith(head) ? stack : `${head}\n${stack}`;
  }

  function constructorName(v) {
    let proto;
    try {
      proto = O.getPrototypeOf(v);
    } catch {
      return "Object";
    }
    if (proto === null) return null;
    const c = O.getOwnPropertyDescriptor(proto, "constructor")?.value;
    return typeof c === "function" && typeof c.name === "string" && c.name ? c.name : "Object";
  }

  function join(items, braces, indent) {
    const total = items.reduce((n, s) => n + s.length + 2, 0);
    if (total + indent + braces[0].length <= 80 && !items.some((s) => s.includes("\n"))) {
      return `${braces[0]} ${items.join(", ")} ${braces[1]}`;
    }
    const pad = "\n" + " ".repeat(indent + 2);
    return `${braces[0]}${pad}${items.join("," + pad)}\n${" ".repeat(indent)}${braces[1]}`;
  }

  // `state`: { seen: [objects on the current path], refs: Map(object -> ref number) }
  function formatValue(v, depth, state, top) {
    switch (typeof v) {
      case "string":
        return top ? v : quote(v);
      case "undefined":
        return "undefined";
      case "bigint":
        return `${v}n`;
      case "symbol":
        return v.toString();
      case "number":
        return O.is(v, -0) ? "-0" : String(v);
      case "boolean":
        return String(v);
      case "function":
        if (O.keys(v).length === 0) return fnName(v);
    }
    if (v === null) return "null";
    if (state.seen.includes(v)) {
      let n = state.refs.get(v);
      if (n === undefined) state.refs.set(v, (n = state.refs.size + 1));
      return `[Circular *${n}]`;
    }
    const out = formatObject(v, depth, state);
    const n = state.refs.get(v);
    return n === undefined ? out : `<ref *${n}> ${out}`;
  }

  function formatObject(v, depth, state) {
    const indent = depth * 2;
    if (v instanceof Error) return errorText(v);
    if (brand(dateGetTime, v)) return isNaN(dateGetTime.call(v)) ? "Invalid Date" : v.toISOString();
    if (v !== RegExp.prototype && brand(regexpSource, v)) return `/${regexpSource.call(v)}/${regexpFlags.call(v)}`;
    const isArr = ArrayIsArray(v);
    const ctor = constructorName(v);
    if (depth > 2) {
      return isArr ? "[Array]" : `[${ctor ?? "Object: null prototype"}]`;
    }
    state.seen.push(v);
    try {
      const next = (x) => formatValue(x, depth + 1, state, false);
      const items = [];
      let braces;
      let skipKeys = null; // index keys already shown
      if (isArr) {
        let holes = 0;
        const n = Math.min(v.length, MAX_ITEMS);
        for (let i = 0; i < n; i++) {
          if (!O.hasOwn(v, i)) {
            holes++;
            continue;
          }
          if (holes) items.push(`<${holes} empty item${holes > 1 ? "s" : ""}>`);
          holes = 0;
          items.push(next(v[i]));
        }
        if (holes) items.push(`<${holes} empty item${holes > 1 ? "s" : ""}>`);
        if (v.length > MAX_ITEMS) items.push(`... ${v.length - MAX_ITEMS} more item${v.length - MAX_ITEMS > 1 ? "s" : ""}`);
        if (items.length === 0 && O.keys(v).length === 0) return "[]";
        braces = [ctor === "Array" ? "[" : `${ctor}(${v.length}) [`, "]"];
        skipKeys = (k) => /^\d+$/.test(k);
      } else if (brand(mapSize, v)) {
        for (const [k, x] of mapEntries.call(v)) items.push(`${next(k)} => ${next(x)}`);
        braces = [`${ctor ?? "Map"}(${mapSize.call(v)}) {`, "}"];
      } else if (brand(setSize, v)) {
        for (const x of setValues.call(v)) items.push(next(x));
        braces = [`${ctor ?? "Set"}(${setSize.call(v)}) {`, "}"];
      } else if (isView(v) && v.length !== undefined) {
        const n = Math.min(v.length, MAX_ITEMS);
        for (let i = 0; i < n; i++) items.push(formatValue(v[i], depth + 1, state, false));
        if (v.length > MAX_ITEMS) items.push(`... ${v.length - MAX_ITEMS} more items`);
        braces = [`${taTag.call(v)}(${v.length}) [`, "]"];
        skipKeys = () => true;
        if (items.length === 0) return `${braces[0]}]`;
      } else if (brand(abByteLength, v)) {
        const bytes = new Uint8Array(v, 0, Math.min(abByteLength.call(v), 50));
        const hexes = [...bytes].map((b) => (b < 16 ? "0" : "") + b.toString(16)).join(" ");
        return `ArrayBuffer { [Uint8Contents]: <${hexes}${abByteLength.call(v) > 50 ? " ..." : ""}>, byteLength: ${abByteLength.call(v)} }`;
      } else if (v instanceof Headers) {
        for (const [k, x] of v) items.push(`${IDENT.test(k) ? k : quote(k)}: ${next(x)}`);
        braces = [`Headers(${items.length}) {`, "}"];
        skipKeys = () => true;
      } else if (v instanceof URL) {
        return `URL ${quote(v.href)}`;
      } else if (requestPartsOf(v) !== undefined || responsePartsOf(v) !== undefined || v instanceof Blob || v instanceof AbortSignal) {
        // (A Request or Response by what it holds: an object made from their
        // prototypes has none of it, and is shown as a plain object.)
        const fields = requestPartsOf(v) !== undefined
          ? { method: v.method, url: v.url, headers: v.headers, bodyUsed: v.bodyUsed }
          : responsePartsOf(v) !== undefined
            ? { status: v.status, statusText: v.statusText, headers: v.headers, bodyUsed: v.bodyUsed }
            : v instanceof AbortSignal
              ? { aborted: v.aborted }
              : v instanceof File
                ? { name: v.name, size: v.size, type: v.type }
                : { size: v.size, type: v.type };
        for (const [k, x] of O.entries(fields)) items.push(`${k}: ${next(x)}`);
        braces = [`${v[Symbol.toStringTag]} {`, "}"];
        skipKeys = () => true;
      } else if (typeof v === "function") {
        braces = [`${fnName(v)} {`, "}"];
      } else {
        const prefix = ctor === null ? "[Object: null prototype] " : ctor === "Object" ? "" : `${ctor} `;
        braces = [`${prefix}{`, "}"];
      }
      for (const k of O.keys(v)) {
        if (skipKeys?.(k)) continue;
        let x;
        try {
          x = v[k];
        } catch (e) {
          x = `<getter threw ${e?.name}>`;
        }
        items.push(`${IDENT.test(k) ? k : quote(k)}: ${next(x)}`);
      }
      if (items.length === 0) return `${braces[0]}}`;
      return join(items, braces, indent);
    } finally {
      state.seen.pop();
    }
  }

  function inspect(v, depth = 0, _seen = undefined) {
    return formatValue(v, 0, { seen: [], refs: new Map() }, depth === 0);
  }

  // console.log's format: printf-style directives in a leading string, then
  // the rest of the values, separated by spaces.
  function format(args) {
    let out = [];
    let i = 0;
    if (typeof args[0] === "string" && args.length > 1 && args[0].includes("%")) {
      i = 1;
      const s = args[0].replace(/%([sdifjoOc%])/g, (m, d) => {
        if (d === "%") return "%";
        if (i >= args.length) return m;
        const a = args[i++];
        switch (d) {
          case "s":
            return typeof a === "string" ? a : typeof a === "bigint" ? `${a}n` : typeof a === "object" && a !== null ? inspect(a, 1) : String(a);
          case "d":
          case "i": {
            if (typeof a === "bigint") return `${a}n`;
            const n = Number(a);
            return d === "i" || Number.isNaN(n) ? String(Math.trunc(n)) : String(n);
          }
          case "f":
            return String(parseFloat(a));
          case "j":
            try {
              return JSONstringify(a);
            } catch {
              return "[Circular]";
            }
          case "c":
            return "";
          default:
            return inspect(a, 1);
        }
      });
      out.push(s);
    }
    for (; i < args.length; i++) out.push(inspect(args[i], 0));
    return out.join(" ");
  }

  const LEVELS = { debug: 0, info: 1, log: 2, warn: 3, error: 4 };
  const console = {};
  for (const [name, level] of O.entries(LEVELS)) {
    console[name] = (...args) => host.log(level, format(args));
  }
  console.trace = console.debug;
