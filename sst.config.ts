/// <reference path="./.sst/platform/config.d.ts" />

export default $config({
  app(input) {
    return {
      name: "devops-simulator",
      home: "aws",
      removal: input?.stage === "production" ? "retain" : "remove",
    };
  },
  async run() {
    const { api } = await import("./infra/api");
    const { router } = await import("./infra/router");
    await import("./infra/reconcile");
    return { api: api.url, router: router.url };
  },
});
