export interface BannerInput {
  readonly apiUrl: string;
  readonly routerUrl: string;
  readonly simUrl: string;
  readonly database: string;
  readonly demo: boolean;
}

/** What `devsim up` prints once everything listens: where things are and a first command to try. */
export const banner = ({ apiUrl, routerUrl, simUrl, database, demo }: BannerInput): string => {
  const lines = [
    "",
    "DevOps Simulator is up",
    `  API          ${apiUrl}   (OpenAPI: ${apiUrl}/v1/openapi.json)`,
    `  Router       ${routerUrl}`,
    `  Sim clouds   ${simUrl}`,
    `  Database     ${database}`,
    "",
  ];
  if (demo) {
    lines.push(
      "The demo workload 'hello' runs in all eight simulated regions with light traffic.",
      `  See who answers:   curl -si ${routerUrl}/w/hello/ | grep x-devsim-backend`,
      `  Where traffic goes: curl -s ${apiUrl}/v1/workloads/hello/traffic`,
      "  Start a rollout:",
      `    curl -s -X POST ${apiUrl}/v1/workloads/hello/rollouts -H 'content-type: application/json' \\`,
      `      -d '{"image":"registry.example.com/demo/hello:2"}'`,
      "",
    );
  }
  lines.push("Press Ctrl+C to stop.", "");
  return lines.join("\n");
};
