// The platform's front door: routes /apps/<name>/... to the AppRunner
// object of app <name>.

import { AppRunner } from "./runner.js";

export { AppRunner };

const USAGE = `app-platform: run your own JavaScript as a sandboxed app with its own database.

  PUT    /apps/<name>/code    install or update the app (the body is an ES module
                              exporting \`class App extends DurableObject\`)
  GET    /apps/<name>/code    the installed source (x-code-id: its version id)
  DELETE /apps/<name>/code    uninstall the app and delete its data
  *      /apps/<name>/<path>  handled by the app's fetch(), which sees /<path>

App names: 1 to 64 letters, digits, '-' or '_'. The code has no network access.
`;

const APP_NAME = /^[A-Za-z0-9_-]{1,64}$/;

function error(status, error, message) {
  return Response.json({ error, message }, { status });
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/") {
      return request.method === "GET" || request.method === "HEAD"
        ? new Response(USAGE, { headers: { "content-type": "text/plain; charset=utf-8" } })
        : error(405, "MethodNotAllowed", "use GET /");
    }
    const match = /^\/apps\/([^/]*)(\/.*)?$/.exec(url.pathname);
    if (!match) return error(404, "NotFound", `no route for ${url.pathname}; GET / for usage`);
    const name = decodeURIComponent(match[1]);
    if (!APP_NAME.test(name)) {
      return error(400, "BadAppName", "app names are 1 to 64 letters, digits, '-' or '_'");
    }
    const path = match[2] ?? "/";
    const runner = ctx.exports.AppRunner.getByName(name);

    if (path === "/code") {
      switch (request.method) {
        case "PUT": {
          const { status, body } = await runner.install(await request.text());
          return Response.json(body, { status });
        }
        case "GET": {
          const info = await runner.info();
          if (!info) return error(404, "NoCode", `app "${name}" has no code installed`);
          return new Response(info.code, {
            headers: { "content-type": "text/javascript; charset=utf-8", "x-code-id": info.codeId },
          });
        }
        case "DELETE": {
          const removed = await runner.uninstall();
          return removed ? Response.json({ app: name, deleted: true }) : error(404, "NoCode", `app "${name}" has no code installed`);
        }
        default:
          return error(405, "MethodNotAllowed", "use PUT, GET or DELETE on /apps/<name>/code");
      }
    }

    // Everything else is the app's: it sees the path after /apps/<name>.
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    const forwarded = new Request(new URL(path + url.search, url.origin), {
      method: request.method,
      headers: request.headers,
      body: hasBody ? await request.arrayBuffer() : null,
    });
    return runner.fetch(forwarded);
  },
};
