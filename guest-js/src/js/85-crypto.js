  // ---------------------------------------------------------------------------
  // Globals

  // --- crypto ------------------------------------------------------------------
  // Randomness, and crypto.subtle's digests and HMAC (native in crypto.rs).

  const HASHES = { "sha-1": "SHA-1", "sha-256": "SHA-256", "sha-384": "SHA-384", "sha-512": "SHA-512" };
  // The block size in bits: an HMAC key's default length in generateKey.
  const HASH_BLOCK_BITS = { "SHA-1": 512, "SHA-256": 512, "SHA-384": 1024, "SHA-512": 1024 };
  const KEY_USAGES = ["encrypt", "decrypt", "sign", "verify", "deriveKey", "deriveBits", "wrapKey", "unwrapKey"];

  function algorithmName(algorithm) {
    if (typeof algorithm === "string") return algorithm;
    if (algorithm !== null && typeof algorithm === "object") {
      if (algorithm.name === undefined) throw new TypeError("algorithm: the name member is required");
      return String(algorithm.name);
    }
    throw new TypeError("algorithm: expected a string or an object with a name");
  }

  function hashName(algorithm) {
    const name = algorithmName(algorithm);
    const hash = HASHES[name.toLowerCase()];
    if (hash === undefined) throw makeError("NotSupportedError", `Unrecognized or unimplemented hash algorithm "${name}"`);
    return hash;
  }

  // The HMAC algorithm of sign/verify/importKey/generateKey, normalized.
  function hmacAlgorithm(algorithm) {
    const name = algorithmName(algorithm);
    if (name.toLowerCase() !== "hmac") {
      throw makeError("NotSupportedError", `Unrecognized or unimplemented algorithm "${name}" (facets supports HMAC)`);
    }
    return "HMAC";
  }

  // A copy of the bytes of `data` (BufferSource), taken before any await.
  function bufferSource(data, what) {
    try {
      return toBytes(data).slice();
    } catch {
      throw new TypeError(`${what}: expected an ArrayBuffer or an ArrayBuffer view`);
    }
  }

  function checkUsages(usages, allowed) {
    if (usages === null || typeof usages !== "object" || typeof usages[Symbol.iterator] !== "function") {
      throw new TypeError("keyUsages: expected a sequence of strings");
    }
    const list = [];
    for (const u of usages) {
      const usage = String(u);
      if (!KEY_USAGES.includes(usage)) throw new TypeError(`keyUsages: "${usage}" is not a valid key usage`);
      if (!allowed.includes(usage)) throw makeError("SyntaxError", `keyUsages: "${usage}" is not allowed for this key`);
      if (!list.includes(usage)) list.push(usage);
    }
    if (list.length === 0) throw makeError("SyntaxError", "keyUsages: a secret key needs at least one usage");
    return list;
  }

  // CryptoKey -> { name, hash, bytes, usages, extractable }: what the operations
  // trust (not the key's getters, which user code could redefine).
  const keyMaterial = new WeakMap();
  let constructingKey = false;

  class CryptoKey {
    #type;
    #extractable;
    #algorithm;
    #usages;
    constructor(type, extractable, algorithm, usages) {
      if (!constructingKey) throw new TypeError("Illegal constructor");
      this.#type = type;
      this.#extractable = extractable;
      this.#algorithm = algorithm;
      this.#usages = usages;
    }
    get type() {
      return this.#type;
    }
    get extractable() {
      return this.#extractable;
    }
    get algorithm() {
      return this.#algorithm;
    }
    get usages() {
      return this.#usages;
    }
    get [Symbol.toStringTag]() {
      return "CryptoKey";
    }
  }

  function hmacKey(hash, bytes, length, extractable, usages) {
    constructingKey = true;
    let key;
    try {
      key = new CryptoKey("secret", !!extractable, { name: "HMAC", hash: { name: hash }, length }, usages);
    } finally {
      constructingKey = false;
    }
    keyMaterial.set(key, { name: "HMAC", hash, bytes, usages: usages.slice(), extractable: !!extractable });
    return key;
  }

  // The key material of `key`, checking it is an HMAC key allowed `usage`.
  function useKey(key, algorithm, usage) {
    const name = hmacAlgorithm(algorithm);
    const material = keyMaterial.get(key);
    if (material === undefined) throw new TypeError("key: expected a CryptoKey");
    if (material.name !== name) {
      throw makeError("InvalidAccessError", `The requested operation is not valid for the key's algorithm (${material.name})`);
    }
    if (!material.usages.includes(usage)) {
      throw makeError("InvalidAccessError", `The key does not support the "${usage}" operation`);
    }
    return material;
  }

  // The key length in bits of an HMAC import or generation.
  function hmacLength(algorithm, dataBits) {
    if (algorithm.length === undefined) return dataBits;
    const length = Number(algorithm.length);
    if (!Number.isInteger(length) || length <= 0) throw makeError("DataError", "HMAC: invalid key length");
    if (dataBits !== undefined && (length > dataBits || length <= dataBits - 8)) {
      throw makeError("DataError", "HMAC: the key length does not match the key data");
    }
    return length;
  }

  class SubtleCrypto {
    constructor() {
      if (!constructingKey) throw new TypeError("Illegal constructor");
    }
    async digest(algorithm, data) {
      const hash = hashName(algorithm);
      return host.digest(hash, bufferSource(data, "digest"));
    }
    async importKey(format, keyData, algorithm, extractable, keyUsages) {
      format = String(format);
      hmacAlgorithm(algorithm);
      if (format !== "raw") {
        throw makeError("NotSupportedError", `importKey: unsupported key format "${format}" (facets supports "raw")`);
      }
      const bytes = bufferSource(keyData, "importKey");
      if (algorithm.hash === undefined) throw new TypeError("HMAC: the hash member is required");
      const hash = hashName(algorithm.hash);
      const usages = checkUsages(keyUsages, ["sign", "verify"]);
      if (bytes.length === 0) throw makeError("DataError", "HMAC: the key data must not be empty");
      const length = hmacLength(algorithm, bytes.length * 8);
      return hmacKey(hash, bytes, length, extractable, usages);
    }
    async generateKey(algorithm, extractable, keyUsages) {
      hmacAlgorithm(algorithm);
      if (algorithm.hash === undefined) throw new TypeError("HMAC: the hash member is required");
      const hash = hashName(algorithm.hash);
      const usages = checkUsages(keyUsages, ["sign", "verify"]);
      const length = hmacLength(algorithm, undefined) ?? HASH_BLOCK_BITS[hash];
      const bytes = new Uint8Array(host.randomBytes(Math.ceil(length / 8)));
      if (length % 8 !== 0) bytes[bytes.length - 1] &= 0xff << (8 - (length % 8));
      return hmacKey(hash, bytes, length, extractable, usages);
    }
    async exportKey(format, key) {
      format = String(format);
      const material = keyMaterial.get(key);
      if (material === undefined) throw new TypeError("exportKey: expected a CryptoKey");
      if (format !== "raw") {
        throw makeError("NotSupportedError", `exportKey: unsupported key format "${format}" (facets supports "raw")`);
      }
      if (!material.extractable) throw makeError("InvalidAccessError", "exportKey: the key is not extractable");
      return material.bytes.slice().buffer;
    }
    async sign(algorithm, key, data) {
      const bytes = bufferSource(data, "sign");
      const material = useKey(key, algorithm, "sign");
      return host.hmacSign(material.hash, material.bytes, bytes);
    }
    async verify(algorithm, key, signature, data) {
      const sig = bufferSource(signature, "verify");
      const bytes = bufferSource(data, "verify");
      const material = useKey(key, algorithm, "verify");
      return host.hmacVerify(material.hash, material.bytes, sig, bytes);
    }
  }

  let subtle;
  constructingKey = true;
  try {
    subtle = new SubtleCrypto();
  } finally {
    constructingKey = false;
  }

  const crypto = {
    subtle,
    getRandomValues(array) {
      if (!isView(array) || array instanceof Float32Array || array instanceof Float64Array || array instanceof DataView) {
        throw makeError("TypeMismatchError", "getRandomValues: expected an integer typed array");
      }
      if (array.byteLength > 65536) {
        throw makeError("QuotaExceededError", `getRandomValues: the array's byte length (${array.byteLength}) exceeds 65536`);
      }
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(new Uint8Array(host.randomBytes(array.byteLength)));
      return array;
    },
    randomUUID() {
      const b = new Uint8Array(host.randomBytes(16));
      b[6] = (b[6] & 0x0f) | 0x40;
      b[8] = (b[8] & 0x3f) | 0x80;
      let h = "";
      for (let i = 0; i < 16; i++) {
        h += (b[i] < 16 ? "0" : "") + b[i].toString(16);
        if (i === 3 || i === 5 || i === 7 || i === 9) h += "-";
      }
      return h;
    },
  };
