import { ECSClient } from "@aws-sdk/client-ecs";
import { type RetryPolicy, retryCloudCall } from "#core";
import { ecsRetryDecision, toAdapterError } from "./errors.ts";

/** Static AWS keys; without them the SDK's default credential chain is used. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface EcsApiOptions {
  readonly endpoint?: string | undefined;
  readonly profile?: string | undefined;
  readonly credentials?: AwsCredentials | undefined;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
}

/** The ECS API of every region, behind one door that retries and maps errors. */
export interface EcsApi {
  /**
   * Runs one ECS call against the region's client, retrying throttling, 5xx, timeouts and network
   * failures within the retry policy; anything it throws is an AdapterError. When the retries run
   * out, the message says how many attempts were made.
   */
  call<T>(region: string, operation: string, send: (client: ECSClient) => Promise<T>): Promise<T>;
  /** Closes every region's connections. */
  destroy(): void;
}

export const createEcsApi = (options: EcsApiOptions): EcsApi => {
  const clients = new Map<string, ECSClient>();

  const clientFor = (region: string): ECSClient => {
    let client = clients.get(region);
    if (!client) {
      client = new ECSClient({
        region,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.profile ? { profile: options.profile } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
        // Retries are ours (one policy, Retry-After honoured, counted once), so the SDK makes one attempt.
        maxAttempts: 1,
        requestHandler: {
          connectionTimeout: options.timeoutMs,
          requestTimeout: options.timeoutMs,
          throwOnRequestTimeout: true,
        },
      });
      clients.set(region, client);
    }
    return client;
  };

  return {
    call: (region, operation, send) =>
      retryCloudCall(
        async () => {
          try {
            return await send(clientFor(region));
          } catch (error) {
            throw toAdapterError(error, { region, operation });
          }
        },
        { ...options.retry, retryable: ecsRetryDecision },
      ),

    destroy() {
      for (const client of clients.values()) client.destroy();
      clients.clear();
    },
  };
};
