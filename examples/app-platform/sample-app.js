// A sample app for the platform: a notebook. POST /notes adds a note (the
// request body is its text), GET /notes lists them as JSON.
import { DurableObject } from "cloudflare:workers";

export class App extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS notes (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      text TEXT NOT NULL,
      created_at TEXT NOT NULL
    )`);
  }

  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname !== "/notes") {
      return Response.json({ error: "NotFound", message: "try GET or POST /notes" }, { status: 404 });
    }
    const sql = this.ctx.storage.sql;
    if (request.method === "POST") {
      const text = (await request.text()).trim();
      if (text === "") return Response.json({ error: "EmptyNote", message: "the body is the note's text" }, { status: 400 });
      const note = sql
        .exec("INSERT INTO notes (text, created_at) VALUES (?, ?) RETURNING id, text, created_at", text, new Date().toISOString())
        .one();
      return Response.json(note, { status: 201 });
    }
    if (request.method === "GET") {
      const notes = sql.exec("SELECT id, text, created_at FROM notes ORDER BY id").toArray();
      return Response.json({ notes });
    }
    return Response.json({ error: "MethodNotAllowed", message: "use GET or POST" }, { status: 405 });
  }
}
