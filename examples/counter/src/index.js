import { DurableObject } from "cloudflare:workers";

export class Counter extends DurableObject {
  async fetch(request) {
    const count = (this.ctx.storage.kv.get("count") ?? 0) + 1;
    this.ctx.storage.kv.put("count", count);
    return Response.json({ object: this.ctx.id.name, count });
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const name = url.pathname.slice(1) || "default";
    if (name === "favicon.ico") return new Response(null, { status: 404 });
    const res = await env.COUNTER.getByName(name).fetch(request);
    const { count } = await res.json();
    return new Response(`${env.GREETING}, ${name}: ${count}\n`);
  },
};
