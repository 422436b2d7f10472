import { closeServer, listen } from "../support/http-servers.ts";

// The token services the clouds' standard credential chains ask when they run on the cloud itself.
// A spawned devsim finds them through the same environment variables the platforms set, so its
// credential chains run unchanged, as they would in production.

export interface TokenService {
  readonly url: string;
  /** The environment variables that point a credential chain at this service. */
  readonly env: Readonly<Record<string, string>>;
  /** Every resource or scope a token was asked for. */
  readonly asked: string[];
  close(): Promise<void>;
}

/**
 * Azure App Service's managed identity endpoint
 * (https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference):
 * `GET $IDENTITY_ENDPOINT?resource=…&api-version=2019-08-01` with the `X-IDENTITY-HEADER` secret,
 * answering `{ access_token, expires_on, resource, token_type }`. DefaultAzureCredential reaches it
 * through its ManagedIdentityCredential.
 */
export const startAppServiceIdentity = async (token: string): Promise<TokenService> => {
  const secret = "devsim-identity-header";
  const asked: string[] = [];
  const { server, url } = await listen((req, res) => {
    const query = new URL(req.url ?? "/", "http://identity").searchParams;
    res.setHeader("content-type", "application/json");
    if (req.headers["x-identity-header"] !== secret) {
      res.statusCode = 401;
      res.end(JSON.stringify({ error: "invalid_request", error_description: "bad X-IDENTITY-HEADER" }));
      return;
    }
    const resource = query.get("resource") ?? "";
    asked.push(resource);
    res.end(
      JSON.stringify({
        access_token: token,
        expires_on: String(Math.floor(Date.now() / 1000) + 3600),
        resource,
        token_type: "Bearer",
      }),
    );
  });
  return {
    url,
    env: { IDENTITY_ENDPOINT: `${url}/msi/token`, IDENTITY_HEADER: secret },
    asked,
    close: () => closeServer(server),
  };
};

/**
 * The Compute Engine metadata server's token endpoint
 * (https://cloud.google.com/compute/docs/access/authenticate-workloads#applications):
 * `GET /computeMetadata/v1/instance/service-accounts/default/token` with `Metadata-Flavor: Google`.
 * Application default credentials find it through `GCE_METADATA_HOST` when no key file is set.
 */
export const startGceMetadata = async (token: string): Promise<TokenService> => {
  const asked: string[] = [];
  const { server, url } = await listen((req, res) => {
    res.setHeader("metadata-flavor", "Google");
    if (req.headers["metadata-flavor"] !== "Google") {
      res.statusCode = 403;
      res.end("Missing Metadata-Flavor:Google header.");
      return;
    }
    const target = new URL(req.url ?? "/", "http://metadata");
    if (target.pathname === "/computeMetadata/v1/instance/service-accounts/default/token") {
      asked.push(target.searchParams.get("scopes") ?? "");
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ access_token: token, expires_in: 3599, token_type: "Bearer" }));
      return;
    }
    // What the chain probes first (`/computeMetadata/v1/instance`) only needs the header; anything
    // else, such as the universe domain, is absent, which means the default one.
    res.statusCode = target.pathname === "/computeMetadata/v1/instance" ? 200 : 404;
    res.end("");
  });
  return {
    url,
    env: { GCE_METADATA_HOST: new URL(url).host },
    asked,
    close: () => closeServer(server),
  };
};
