  // ---------------------------------------------------------------------------
  // console

  function inspect(v, depth, seen) {
    switch (typeof v) {
      case "string":
        return depth === 0 ? v : JSONstringify(v);
      case "undefined":
        return "undefined";
      case "bigint":
        return `${v}n`;
      case "symbol":
        return v.toString();
      case "function":
        return `[Function: ${v.name || "(anonymous)"}]`;
      case "number":
        return O.is(v, -0) ? "-0" : String(v);
      case "boolean":
        return String(v);
    }
    if (v === null) return "null";
    if (seen.includes(v)) return "[Circular]";
    if (v instanceof Error) return v.stack ? `${v.name}: ${v.message}\n${v.stack}`.trimEnd() : `${v.name}: ${v.message}`;
    if (brand(dateGetTime, v)) return isNaN(dateGetTime.call(v)) ? "Invalid Date" : v.toISOString();
    if (v !== RegExp.prototype && brand(regexpSource, v)) return String(v);
    if (depth > 3) return ArrayIsArray(v) ? "[Array]" : "[Object]";
    seen = [...seen, v];
    const next = (x) => inspect(x, depth + 1, seen);
    if (ArrayIsArray(v)) return `[ ${v.map(next).join(", ")} ]`.replace("[  ]", "[]");
    if (brand(mapSize, v)) return `Map(${v.size}) { ${[...v].map(([k, x]) => `${next(k)} => ${next(x)}`).join(", ")} }`;
    if (brand(setSize, v)) return `Set(${v.size}) { ${[...v].map(next).join(", ")} }`;
    if (isView(v)) return `${taTag.call(v) || "DataView"}(${v.length ?? v.byteLength}) [ ${Array.from(v.length === undefined ? [] : v).slice(0, 50).join(", ")} ]`;
    if (brand(abByteLength, v)) return `ArrayBuffer { byteLength: ${abByteLength.call(v)} }`;
    if (v instanceof URL) return `URL ${JSONstringify(v.href)}`;
    if (v instanceof Headers) return `Headers { ${[...v].map(([k, x]) => `${k}: ${JSONstringify(x)}`).join(", ")} }`;
    if (v instanceof Request) return `Request { method: ${JSONstringify(v.method)}, url: ${JSONstringify(v.url)} }`;
    if (v instanceof Response) return `Response { status: ${v.status} }`;
    const name = v.constructor && v.constructor !== Object && typeof v.constructor.name === "string" ? v.constructor.name + " " : "";
    const keys = O.keys(v);
    if (keys.length === 0) return `${name}{}`;
    return `${name}{ ${keys.map((k) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSONstringify(k)}: ${next(v[k])}`).join(", ")} }`;
  }

  function format(args) {
    return args.map((a) => inspect(a, 0, [])).join(" ");
  }

  const LEVELS = { debug: 0, info: 1, log: 2, warn: 3, error: 4 };
  const console = {};
  for (const [name, level] of O.entries(LEVELS)) {
    console[name] = (...args) => host.log(level, format(args));
  }
  console.trace = console.debug;

