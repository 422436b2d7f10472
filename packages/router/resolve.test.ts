import { describe, expect, it } from "vitest";
import { resolveWorkload } from "./resolve.ts";

const at = (pathAndQuery: string): URL => new URL(pathAndQuery, "http://router.internal");

describe("resolveWorkload by path prefix", () => {
  it.each([
    ["/w/shop/cart", "shop", "/cart"],
    ["/w/shop/cart/items/7", "shop", "/cart/items/7"],
    ["/w/shop/", "shop", "/"],
    ["/w/shop", "shop", "/"],
    ["/w/shop?x=1", "shop", "/?x=1"],
    ["/w/shop/cart?x=1&y=a%20b", "shop", "/cart?x=1&y=a%20b"],
    ["/w/shop/a%2Fb", "shop", "/a%2Fb"],
    ["/w/shop//double", "shop", "//double"],
    ["/w/a/", "a", "/"],
    ["/w/a-1-b/x", "a-1-b", "/x"],
  ])("%s → %s %s", (path, workload, upstream) => {
    expect(resolveWorkload(at(path), null)).toEqual({ workload, path: upstream });
  });

  it("drops an empty query marker, as URL does", () => {
    expect(resolveWorkload(at("/w/shop/x?"), null)).toEqual({ workload: "shop", path: "/x" });
  });

  it("wins over the host", () => {
    expect(resolveWorkload(at("/w/shop/x"), "blog.example.com")).toEqual({ workload: "shop", path: "/x" });
  });

  it.each([
    "/w/",
    "/w//x",
    "/w",
    "/wx/shop",
    "/W/shop",
    "/x/w/shop",
    "/w/Shop/x",
    "/w/1shop/x",
    "/w/-shop/x",
    "/w/shop-/x",
    "/w/sh_op/x",
    "/w/sh%20op/x",
    `/w/${"a".repeat(41)}/x`,
  ])("%s names no workload without a host", (path) => {
    expect(resolveWorkload(at(path), null)).toBeNull();
  });

  it("accepts the longest valid name", () => {
    const name = "a".repeat(40);
    expect(resolveWorkload(at(`/w/${name}/x`), null)).toEqual({ workload: name, path: "/x" });
  });

  it("leaves an invalid /w/ segment to the host, keeping the whole path", () => {
    expect(resolveWorkload(at("/w/Not_A_Name/x?q=1"), "shop.example.com")).toEqual({
      workload: "shop",
      path: "/w/Not_A_Name/x?q=1",
    });
  });
});

describe("resolveWorkload by host", () => {
  it.each([
    ["shop.example.com", "shop"],
    ["shop.example.com:8080", "shop"],
    ["shop.localhost", "shop"],
    ["shop.localhost:3000", "shop"],
    ["SHOP.Example.COM", "shop"],
    ["shop.example.com.", "shop"],
    ["shop.a", "shop"],
    ["shop-2.eu.example.com", "shop-2"],
  ])("%s → %s", (host, workload) => {
    expect(resolveWorkload(at("/cart?x=1"), host)).toEqual({ workload, path: "/cart?x=1" });
  });

  it.each([
    null,
    "",
    "localhost",
    "localhost:8080",
    "localhost.localdomain",
    "shop",
    "shop:8080",
    "shop.",
    ".example.com",
    "127.0.0.1",
    "127.0.0.1:8080",
    "10.1.2.3",
    "[::1]",
    "[::1]:8080",
    "[fe80::1].example.com",
    "sh_op.example.com",
    "1shop.example.com",
    "-shop.example.com",
    `${"a".repeat(41)}.example.com`,
  ])("%s names no workload", (host) => {
    expect(resolveWorkload(at("/cart"), host)).toBeNull();
  });

  it("keeps the root path", () => {
    expect(resolveWorkload(at("/"), "shop.example.com")).toEqual({ workload: "shop", path: "/" });
  });
});
