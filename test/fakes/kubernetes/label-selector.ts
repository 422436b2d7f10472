import { Refusal } from "./api-objects.ts";

// Label selectors as the API server reads them in `?labelSelector=`: equality (`k=v`, `k==v`,
// `k!=v`), sets (`k in (a,b)`, `k notin (a,b)`) and existence (`k`, `!k`), joined by commas
// (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors).

type Requirement =
  | { readonly key: string; readonly op: "=" | "!="; readonly value: string }
  | { readonly key: string; readonly op: "in" | "notin"; readonly values: readonly string[] }
  | { readonly key: string; readonly op: "exists" | "!exists" };

/** A label key: an optional DNS subdomain prefix and `/`, then a name of up to 63 characters. */
const KEY = "(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?";
/** A label value: empty, or up to 63 characters. */
const VALUE = "(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?";

const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s+\\(([^()]*)\\)$`);
const EXISTS = new RegExp(`^(!?)\\s*(${KEY})$`);
const ONE_VALUE = new RegExp(`^${VALUE}$`);

/** Splits at the commas that are not inside a set's parentheses. */
const terms = (text: string): string[] => {
  const found: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === "(") depth += 1;
    if (text[i] === ")") depth -= 1;
    if (text[i] === "," && depth === 0) {
      found.push(text.slice(start, i));
      start = i + 1;
    }
  }
  found.push(text.slice(start));
  return found.map((t) => t.trim());
};

const unparsable = (term: string): Refusal =>
  new Refusal(400, "BadRequest", `unable to parse requirement: invalid label selector term '${term}'`);

const requirement = (term: string): Requirement => {
  const equality = EQUALITY.exec(term);
  if (equality) {
    const [, key = "", op, value = ""] = equality;
    return { key, op: op === "!=" ? "!=" : "=", value };
  }
  const set = SET.exec(term);
  if (set) {
    const [, key = "", op, list = ""] = set;
    const values = list.split(",").map((v) => v.trim());
    if (values.some((v) => !ONE_VALUE.test(v))) throw unparsable(term);
    return { key, op: op === "in" ? "in" : "notin", values };
  }
  const exists = EXISTS.exec(term);
  if (exists) return { key: exists[2] ?? "", op: exists[1] === "!" ? "!exists" : "exists" };
  throw unparsable(term);
};

/** Whether a label's value (undefined: no such label) meets a requirement. */
const holds = (r: Requirement, value: string | undefined): boolean => {
  switch (r.op) {
    case "=":
      return value === r.value;
    case "!=":
      return value !== r.value;
    case "in":
      return value !== undefined && r.values.includes(value);
    case "notin":
      return value === undefined || !r.values.includes(value);
    case "exists":
      return value !== undefined;
    case "!exists":
      return value === undefined;
  }
};

/**
 * A predicate on labels for a selector; the empty selector matches everything. Throws a 400
 * Refusal for a selector the API server would not parse.
 */
export const labelSelector = (text: string): ((labels: Readonly<Record<string, string>>) => boolean) => {
  if (text.trim() === "") return () => true;
  const requirements = terms(text).map(requirement);
  return (labels) => requirements.every((r) => holds(r, labels[r.key]));
};
