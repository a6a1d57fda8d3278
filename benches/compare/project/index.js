// The supervisor + facet project that benches/compare/run serves on both
// facets and workerd: one Supervisor object per app (?app=NAME); the app's
// source comes in the request body and is loaded through the Worker Loader
// under ?code=ID, then run as the object's facet. The app (see APP in
// ../bench.py) counts requests with this.ctx.storage.kv.
import { DurableObject } from "cloudflare:workers";

export class Supervisor extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    const codeId = url.searchParams.get("code");
    const source = await request.clone().text();
    const facet = this.ctx.facets.get("app", async () => {
      const worker = this.env.LOADER.get(codeId, async () => ({
        compatibilityDate: "2026-04-01",
        mainModule: "app.js",
        modules: { "app.js": source },
        globalOutbound: null,
      }));
      return { class: worker.getDurableObjectClass("App") };
    });
    return facet.fetch(request);
  }
}

export default {
  fetch(request, env) {
    const app = new URL(request.url).searchParams.get("app");
    if (!app) return new Response("ok");
    return env.SUPERVISOR.getByName(app).fetch(request);
  },
};
