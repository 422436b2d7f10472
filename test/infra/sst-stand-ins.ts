// Stand-ins for the globals SST's platform gives `sst.config.ts` (`$config`, `$app`, `sst.*`), so a
// test can evaluate the config without SST, Pulumi or a cloud account, and see what it declares.
// Only the components and arguments our infra uses are modelled (https://sst.dev/docs/reference/config).

export type ComponentKind = "Function" | "Cron" | "Bucket" | "Secret";

export interface Component {
  readonly kind: ComponentKind;
  readonly name: string;
  readonly args: Readonly<Record<string, unknown>>;
}

/** One deployed function, wherever it was declared: a Function, or the function of a Cron. */
export interface DeclaredFunction {
  /** The component that declares it. */
  readonly component: string;
  readonly handler: string;
  readonly runtime: unknown;
  readonly environment: Readonly<Record<string, unknown>>;
  readonly link: readonly unknown[];
  readonly url: unknown;
}

/** What a secret's `.value` stands for until deploy time resolves it. */
export const secretMarker = (name: string): string => `{{secret:${name}}}`;
/** What a bucket's `.name` stands for. */
export const bucketMarker = (name: string): string => `{{bucket:${name}}}`;

const record = (components: Component[], kind: ComponentKind, name: string, args: unknown): void => {
  if (components.some((c) => c.kind === kind && c.name === name))
    throw new Error(`two ${kind} components are named '${name}'`);
  components.push({ kind, name, args: (args ?? {}) as Record<string, unknown> });
};

/**
 * Puts the stand-ins on globalThis and returns the list every component lands in. Call `remove`
 * after the test.
 */
export const installSstStandIns = (stage: string) => {
  const components: Component[] = [];
  class Secret {
    readonly name: string;
    readonly value: string;
    constructor(name: string) {
      record(components, "Secret", name, {});
      this.name = name;
      this.value = secretMarker(name);
    }
  }
  class FunctionStandIn {
    readonly url: string;
    constructor(name: string, args: unknown) {
      record(components, "Function", name, args);
      this.url = `https://${name.toLowerCase()}.lambda-url.test`;
    }
  }
  class Cron {
    constructor(name: string, args: unknown) {
      record(components, "Cron", name, args);
    }
  }
  class Bucket {
    readonly name: string;
    constructor(name: string, args?: unknown) {
      record(components, "Bucket", name, args);
      this.name = bucketMarker(name);
    }
  }
  const globals: Record<string, unknown> = {
    $config: <T>(config: T): T => config,
    $app: { name: "devops-simulator", stage },
    sst: { Secret, aws: { Function: FunctionStandIn, Cron, Bucket } },
  };
  Object.assign(globalThis, globals);
  return {
    components,
    remove: () => {
      for (const key of Object.keys(globals)) Reflect.deleteProperty(globalThis, key);
    },
  };
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Every function the components declare: a Function's own args, or a Cron's `function` (a handler or args). */
export const declaredFunctions = (components: readonly Component[]): DeclaredFunction[] =>
  components.flatMap((c): DeclaredFunction[] => {
    const args = c.kind === "Function" ? c.args : c.kind === "Cron" ? c.args.function : undefined;
    if (args === undefined) return [];
    const fn = typeof args === "string" ? { handler: args } : isRecord(args) ? args : {};
    return [
      {
        component: c.name,
        handler: String(fn.handler),
        runtime: fn.runtime,
        environment: isRecord(fn.environment) ? fn.environment : {},
        link: Array.isArray(fn.link) ? fn.link : [],
        url: fn.url,
      },
    ];
  });
