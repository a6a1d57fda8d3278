// AppRunner: one Durable Object per app. It keeps the app's code in its own
// storage and runs the code as its facet "app", which has a database of its
// own that the code cannot see past (and that survives code updates).

import { DurableObject } from "cloudflare:workers";

const MAX_CODE_BYTES = 1 << 20;
const MODULE = "app.js";
const VALIDATION_METHOD = "__facets_validate";

export class AppRunner extends DurableObject {
  // --- RPC from the entry worker -------------------------------------------

  /** Validates `code` and installs it: { status, body } for the HTTP answer. */
  async install(code) {
    const name = this.ctx.id.name;
    if (typeof code !== "string" || code.trim() === "") {
      return { status: 400, body: { error: "EmptyCode", message: "the request body must be the app's JavaScript module" } };
    }
    const size = new TextEncoder().encode(code).length;
    if (size > MAX_CODE_BYTES) {
      return { status: 413, body: { error: "CodeTooLarge", message: `the code is ${size} bytes; at most ${MAX_CODE_BYTES} are allowed` } };
    }
    const codeId = crypto.randomUUID();
    const problem = await this.#validate(codeId, code);
    if (problem) {
      return { status: 400, body: { error: problem.name, message: problem.message, text: `${problem.name}: ${problem.message}` } };
    }
    const kv = this.ctx.storage.kv;
    const created = kv.get("codeId") === undefined;
    const version = (kv.get("version") ?? 0) + 1;
    kv.put("code", code);
    kv.put("codeId", codeId);
    kv.put("version", version);
    kv.put("updatedAt", new Date().toISOString());
    // The running facet (if any) stops; the next request starts the new code
    // on the same storage.
    this.ctx.facets.abort("app", "code updated");
    return { status: created ? 201 : 200, body: { app: name, codeId, version, created } };
  }

  /** The installed code, or null. */
  info() {
    const kv = this.ctx.storage.kv;
    const codeId = kv.get("codeId");
    if (codeId === undefined) return null;
    return { codeId, code: kv.get("code"), version: kv.get("version"), updatedAt: kv.get("updatedAt") };
  }

  /** Removes the code and the app's data; whether there was an app. */
  uninstall() {
    const kv = this.ctx.storage.kv;
    const existed = kv.get("codeId") !== undefined;
    this.ctx.facets.delete("app");
    for (const key of ["code", "codeId", "version", "updatedAt"]) kv.delete(key);
    return existed;
  }

  // --- HTTP: requests for the app ------------------------------------------

  async fetch(request) {
    const codeId = this.ctx.storage.kv.get("codeId");
    if (codeId === undefined) {
      const name = this.ctx.id.name;
      return Response.json(
        { error: "NoCode", message: `app "${name}" has no code installed; PUT it to /apps/${name}/code` },
        { status: 404 },
      );
    }
    const app = this.ctx.facets.get("app", () => ({
      class: this.#worker(codeId, () => this.ctx.storage.kv.get("code")).getDurableObjectClass("App"),
    }));
    try {
      return await app.fetch(request);
    } catch (e) {
      return Response.json({ error: e?.name ?? "Error", message: e?.message ?? String(e) }, { status: 500 });
    }
  }

  // --- helpers ---------------------------------------------------------------

  #worker(codeId, getCode) {
    return this.env.LOADER.get(codeId, () => ({
      compatibilityDate: "2026-04-01",
      mainModule: MODULE,
      modules: { [MODULE]: getCode() },
      globalOutbound: null, // apps get no network access
    }));
  }

  /**
   * Starts `code` in a throwaway facet: syntax errors, a missing `App`
   * export and throwing top-level code or constructors fail the start. A
   * started facet refuses the reserved method name, which proves the code
   * is good. Returns null, or the problem as { name, message }.
   */
  async #validate(codeId, code) {
    const probeName = `validate-${crypto.randomUUID()}`;
    try {
      const probe = this.ctx.facets.get(probeName, () => ({
        class: this.#worker(codeId, () => code).getDurableObjectClass("App"),
      }));
      await probe[VALIDATION_METHOD]();
      return null;
    } catch (e) {
      const message = e?.message ?? String(e);
      if (e?.name === "TypeError" && message.includes(`"${VALIDATION_METHOD}" cannot be called over RPC`)) return null;
      return { name: e?.name ?? "Error", message };
    } finally {
      this.ctx.facets.delete(probeName);
    }
  }
}
