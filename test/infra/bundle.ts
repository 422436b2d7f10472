import { execFile } from "node:child_process";
import { builtinModules } from "node:module";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type BuildOptions, build, type Metafile, type Plugin } from "esbuild";

// Bundles functions the way they are deployed, so a test sees what would break at deploy time.

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const NODE_BUILTINS = new Set(builtinModules);
const isNodeBuiltin = (specifier: string): boolean =>
  specifier.startsWith("node:") ||
  NODE_BUILTINS.has(specifier) ||
  NODE_BUILTINS.has(specifier.split("/")[0] ?? "");

export interface RefusedImport {
  readonly specifier: string;
  readonly importer: string;
}

/** An esbuild plugin that fails the build on any import of a Node built-in, and records each one. */
export const refuseNodeBuiltins = (refused: RefusedImport[]): Plugin => ({
  name: "refuse-node-builtins",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /.*/ }, ({ path, importer }) => {
      if (!isNodeBuiltin(path)) return undefined;
      refused.push({ specifier: path, importer: importer.replace(ROOT, "") });
      return { errors: [{ text: `an edge runtime has no Node built-in '${path}'` }] };
    });
  },
});

/** esbuild options for a Lambda function on `nodejs24.x`, as SST builds Node functions. */
export const lambdaOptions: BuildOptions = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  // CommonJS dependencies bundled into ESM need a real `require` for Node's built-ins
  // (https://github.com/evanw/esbuild/issues/1921).
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  outExtension: { ".js": ".mjs" },
};

/**
 * esbuild options for an edge runtime (Workers-like): no platform, so nothing of Node is assumed,
 * packages resolved as browsers and workers resolve them.
 */
export const edgeOptions = (refused: RefusedImport[]): BuildOptions => ({
  bundle: true,
  platform: "neutral",
  format: "esm",
  target: "es2024",
  mainFields: ["module", "main"],
  conditions: ["worker", "browser"],
  plugins: [refuseNodeBuiltins(refused)],
  outExtension: { ".js": ".mjs" },
});

export interface Bundle {
  readonly file: string;
  readonly exports: readonly string[];
  readonly bytes: number;
}

/** Bundles `entry` (relative to the repository) into `outdir`; rejects with esbuild's errors. */
export const bundle = async (entry: string, outdir: string, options: BuildOptions): Promise<Bundle> => {
  const result = await build({
    ...options,
    absWorkingDir: ROOT,
    entryPoints: [entry],
    outdir,
    metafile: true,
    logLevel: "silent",
  });
  const metafile: Metafile = result.metafile ?? { inputs: {}, outputs: {} };
  const [file, output] = Object.entries(metafile.outputs).find(([, o]) => o.entryPoint !== undefined) ?? [];
  if (file === undefined || output === undefined) throw new Error(`esbuild wrote no bundle for ${entry}`);
  return { file: resolve(ROOT, file), exports: output.exports, bytes: output.bytes };
};

/**
 * Imports a bundle in a fresh Node process with exactly `env` and answers `typeof` the export named
 * `name` (`default.fetch` for a path), as the runtime would load it.
 */
export const typeOfExport = (file: string, name: string, env: Record<string, string>): Promise<string> => {
  const script = `import(${JSON.stringify(pathToFileURL(file).href)}).then(
    (m) => { process.stdout.write(typeof ${JSON.stringify(name.split("."))}.reduce((v, k) => v?.[k], m)); process.exit(0); },
    (e) => { console.error(e); process.exit(1); })`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", script],
      { env, timeout: 20_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${file} failed to load:\n${stderr}`)) : resolve(stdout),
    );
  });
};
