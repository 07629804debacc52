// A site's usual calls through openapi-fetch, typed by schema.d.ts (generated from the OpenAPI):
// `tsc --noEmit` fails if the API's types stop fitting them. No casts, no `any`.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type Problem = components["schemas"]["Problem"];
// JSON answers (and problems) only: the JSON-LD content type stays out of `data`.
type Media = "application/json" | "application/problem+json";

const api = createClient<paths, Media>({ baseUrl: "http://127.0.0.1:8000" });
const admin = createClient<paths, Media>({
  baseUrl: "http://127.0.0.1:8000",
  headers: { Authorization: "Bearer sk-editor-key" },
});

function explain(problem: Problem): string {
  return `${problem.status} ${problem.title}: ${problem.detail ?? ""}`;
}

export async function procedureNames(): Promise<string[]> {
  const { data, error } = await api.GET("/v1/procedures", {
    params: { query: { limit: 20, setting: "in-office", sort: "name" } },
  });
  if (error) throw new Error(explain(error));
  const next: string | null = data.next;
  return data.items.map((p) => `${p.name} (${p.setting}${next ? ", more" : ""})`);
}

export async function procedurePage(slug: string): Promise<string> {
  const { data, error } = await api.GET("/v1/procedures/{slug}", {
    params: { path: { slug }, query: { include: "side_effects,quotes.expert" } },
  });
  if (error) return explain(error);
  const effects = (data.included?.side_effects ?? []).map((s) => s.name);
  const speakers = (data.included?.quotes ?? []).map((q) => q.expert_name);
  const cited = data.citations.map((c) => `${c.source}: ${c.excerpt}`);
  return [data.name, data.summary ?? "", ...effects, ...speakers, ...cited].join("\n");
}

export async function whenToAvoid(slug: string): Promise<string[]> {
  const { data, error } = await api.GET("/v1/procedures/{slug}/contraindications", {
    params: { path: { slug }, query: { level: "avoid" } },
  });
  if (error) throw new Error(explain(error));
  return data.items.map((c) => `${c.name} (${c.level}${c.inherited_from ? ", inherited" : ""})`);
}

export async function searchBox(q: string): Promise<string[]> {
  const { data, error } = await api.GET("/v1/search", {
    params: { query: { q, type: "procedure,side_effect" } },
  });
  if (error) throw new Error(explain(error));
  return data.items.map((hit) => `${hit.type}: ${hit.name} — ${hit.snippet} (${hit.url})`);
}

export async function addExpert(): Promise<string> {
  const { data, error, response } = await admin.POST("/v1/admin/experts", {
    body: {
      slug: "jane-roe",
      name: "Jane Roe",
      role: "dermatologist",
      citations: [{ source: "some-article", excerpt: "Jane Roe, a dermatologist" }],
    },
  });
  if (error) {
    const conflict = response.status === 409 ? " (already there)" : "";
    return explain(error) + conflict;
  }
  const version: string | null = response.headers.get("ETag");
  return `${data.collection} ${data.slug} is ${data.status} at version ${version ?? "?"}`;
}
