import type { RetryPolicyInput } from "#core";
import { runAdapterContract } from "../../adapters/contract.ts";
import type { CloudAdapter, DeploymentTarget, RevisionSpec } from "../../adapters/port.ts";
import { devsimRawReader, type FakeKubernetes } from "../fakes/kubernetes.ts";

/** Settings that make an adapter give up fast, for the contract's never-ending throttle. */
export interface ImpatientSettings {
  readonly retry: RetryPolicyInput;
  readonly kubernetes: { readonly timeoutMs: number; readonly retry: RetryPolicyInput };
}

const IMPATIENT_RETRY: RetryPolicyInput = { attempts: 3, budgetMs: 2_000, baseMs: 1, maxMs: 50 };
const IMPATIENT: ImpatientSettings = {
  retry: IMPATIENT_RETRY,
  kubernetes: { timeoutMs: 500, retry: IMPATIENT_RETRY },
};

/**
 * Runs the adapter contract, with every fault, against a managed Kubernetes cloud: the cloud's fake
 * API hands out credentials for a fake Kubernetes API server, where the faults are injected and the
 * state is read.
 */
export const runManagedKubernetesContract = <
  W extends { readonly kube: FakeKubernetes; close(): Promise<void> },
>({
  name,
  target,
  revision,
  world,
  adapter,
}: {
  readonly name: string;
  readonly target: DeploymentTarget;
  readonly revision: RevisionSpec;
  /** Starts the cloud's fakes. */
  readonly world: () => Promise<W>;
  /** The adapter under test over `w`, with `impatient` merged into its configuration when given. */
  readonly adapter: (w: W, impatient?: ImpatientSettings) => CloudAdapter;
}): void => {
  runAdapterContract({
    name,
    readyTimeoutMs: 5_000,
    faults: ["throttle", "timeout", "server-error", "conflict", "eventual-consistency"],
    setup: async () => {
      const w = await world();
      return {
        adapter: adapter(w),
        impatientAdapter: adapter(w, IMPATIENT),
        faults: w.kube.faults,
        raw: devsimRawReader(() => w.kube),
        target,
        revision,
        teardown: () => w.close(),
      };
    },
  });
};
