import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, track, waitUntilServing } from "./processes.ts";

// nginx as the reference proxy: one worker, the same weighted upstreams as the router, keep-alive
// connections to them, the same path prefix stripped and the same forwarding headers added.

/** nginx's version line, or null when it is not installed. */
export const nginxVersion = (): string | null => {
  const run = spawnSync("nginx", ["-v"], { encoding: "utf8" });
  if (run.error) return null;
  return (
    `${run.stdout}${run.stderr}`
      .split("\n")[0]
      ?.replace(/^nginx version:\s*/, "")
      .trim() || "nginx"
  );
};

export interface Upstream {
  readonly url: string;
  readonly weight: number;
}

export const nginxConfig = (dir: string, port: number, prefix: string, upstreams: readonly Upstream[]) => {
  const servers = upstreams.map((u) => `    server ${new URL(u.url).host} weight=${u.weight};`).join("\n");
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream backends {
${servers}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location ${prefix} {
      proxy_pass http://backends/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      add_header X-Devsim-Backend $upstream_addr always;
    }
  }
}
`;
};

/** Starts nginx in the foreground with a config written into `dir`; resolves once it answers. */
export const startNginx = async (
  dir: string,
  prefix: string,
  upstreams: readonly Upstream[],
): Promise<{ url: string; pid: number | undefined }> => {
  const port = await freePort();
  const config = join(dir, "nginx.conf");
  writeFileSync(config, nginxConfig(dir, port, prefix, upstreams));
  const child = track(spawn("nginx", ["-p", dir, "-c", config], { stdio: ["ignore", "inherit", "inherit"] }));
  const url = `http://127.0.0.1:${port}${prefix}`;
  await Promise.race([
    waitUntilServing(url),
    new Promise<never>((_, reject) =>
      child.once("exit", (code) => reject(new Error(`nginx exited with ${code}; see ${dir}/error.log`))),
    ),
  ]);
  return { url, pid: child.pid };
};
