import { type CloudCheck, checkClouds, DEFAULT_CLOUDS_FILE, type Env, loadCloudsConfig } from "#config";
import { CLOUDS } from "#core";
import type { CloudsOptions } from "./options.ts";

export const CLOUDS_USAGE = `Usage: devsim clouds check [options]

Checks every cloud the clouds file configures: are the credentials accepted, does each region's
cluster exist, does it answer. Prints one line per thing checked, with the fix when it is wrong.
Exit code 0 when everything is right, 1 when something is wrong, 2 when the file itself is wrong.

Options (environment variable in brackets):
  --clouds-file FILE  the clouds file (DEVSIM_CLOUDS_FILE, or the JSON itself in DEVSIM_CLOUDS_JSON;
                      default ${DEFAULT_CLOUDS_FILE} if it exists)
  --json              print the lines as JSON

DEVSIM_<CLOUD>_ADAPTER=sim (e.g. DEVSIM_AWS_ADAPTER=sim) keeps one cloud on the simulator.
Credentials come from each cloud's standard places, never from the file: the AWS SDK's default
chain, Azure's DefaultAzureCredential, Google's application default credentials, and
DIGITALOCEAN_ACCESS_TOKEN. See docs/clouds/README.md.
`;

const NOTHING_CONFIGURED = `No clouds file: every cloud (${CLOUDS.join(", ")}) is simulated.
To use a real cloud, write ${DEFAULT_CLOUDS_FILE} (or name a file with --clouds-file or DEVSIM_CLOUDS_FILE), e.g.
  { "digitalocean": { "adapter": "doks", "clusters": [{ "region": "fra1", "name": "shop-fra1" }] } }
and run devsim clouds check again; docs/clouds/README.md has a complete example for each cloud.
`;

/** A check's target without the cloud's name in front, since the table has a column for it. */
const shortTarget = (row: CloudCheck): string =>
  row.target.startsWith(`${row.cloud} `) ? row.target.slice(row.cloud.length + 1) : row.target;

const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim();

/** The table `devsim clouds check` prints: a line per check, and under each problem its fix. */
export const renderCloudChecks = (rows: readonly CloudCheck[]): string => {
  const cells = rows.map((row) => [row.cloud, row.adapter, shortTarget(row)]);
  const header = ["CLOUD", "ADAPTER", "TARGET"];
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((c) => (c[i] ?? "").length)));
  const pad = (values: readonly string[]): string =>
    values.map((v, i) => v.padEnd(widths[i] ?? 0)).join("  ");
  const indent = " ".repeat(pad(header).length + 2);
  const lines = [`${pad(header)}  RESULT`];
  rows.forEach((row, i) => {
    const result = row.ok ? "ok" : oneLine(row.problem ?? "failed");
    lines.push(`${pad(cells[i] ?? [])}  ${result}`);
    if (!row.ok && row.fix) lines.push(`${indent}fix: ${oneLine(row.fix)}`);
  });
  const broken = CLOUDS.filter((cloud) => rows.some((row) => row.cloud === cloud && !row.ok));
  lines.push(
    "",
    broken.length === 0
      ? "Every cloud is ready."
      : `${CLOUDS.length - broken.length} of ${CLOUDS.length} clouds ready; wrong: ${broken.join(", ")}.`,
  );
  return `${lines.join("\n")}\n`;
};

/** `devsim clouds check`; returns the exit code. Bad input throws DevsimError `invalid_input`. */
export const runCloudsCommand = async (options: CloudsOptions, env: Env): Promise<number> => {
  const config = await loadCloudsConfig(env, { file: options.cloudsFile });
  const rows = await checkClouds(config, { digitalocean: { env } });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  } else if (config.source === null) {
    process.stdout.write(NOTHING_CONFIGURED);
  } else {
    process.stdout.write(`Clouds from ${config.source}\n\n${renderCloudChecks(rows)}`);
  }
  return rows.every((row) => row.ok) ? 0 : 1;
};
