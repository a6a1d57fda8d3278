import { DurableObject } from "cloudflare:workers";
export class App extends DurableObject {
  fetch(request) {
    const n = (this.ctx.storage.kv.get("n") ?? 0) + 1;
    this.ctx.storage.kv.put("n", n);
    return new Response(String(n));
  }
}
