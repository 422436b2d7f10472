import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// The router must run on edge runtimes: its code may use web-standard APIs only.

const sourcesIn = (dir: string): { file: string; text: string }[] =>
  readdirSync(dir)
    .filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"))
    .map((name) => ({ file: name, text: readFileSync(join(dir, name), "utf8") }));

const specifiers = (text: string): string[] =>
  Array.from(text.matchAll(/(?:\bfrom\s+|\bimport\s*\(?\s*)["']([^"']+)["']/g), (m) => m[1] ?? "");

const routerDir = import.meta.dirname;
const coreDir = join(import.meta.dirname, "..", "core");

describe("edge safety", () => {
  it("finds the router's sources", () => {
    expect(sourcesIn(routerDir).map((s) => s.file)).toEqual(
      expect.arrayContaining(["app.ts", "index.ts", "pick.ts"]),
    );
  });

  it.each(sourcesIn(routerDir))("$file imports only our code and hono", ({ text }) => {
    for (const specifier of specifiers(text)) {
      expect(specifier).toMatch(/^(\.\/[\w-]+\.ts|#core|hono|hono\/[\w/-]+)$/);
    }
  });

  it.each(sourcesIn(coreDir))("core's $file, which the router imports, needs nothing but zod", ({ text }) => {
    for (const specifier of specifiers(text)) expect(specifier).toMatch(/^(\.\/[\w-]+\.ts|zod)$/);
  });

  it.each(sourcesIn(routerDir))("$file uses no Node globals", ({ text }) => {
    expect(text).not.toMatch(/\b(process|Buffer|require|__dirname|setImmediate)\b/);
  });
});
