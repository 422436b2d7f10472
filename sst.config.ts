/// <reference path="./.sst/platform/config.d.ts" />

export default $config({
  app(input) {
    return {
      name: "devops-simulator",
      home: "aws",
      removal: ["prod", "production"].includes(input?.stage ?? "") ? "retain" : "remove",
    };
  },
  async run() {
    const { api } = await import("./infra/api");
    const { router } = await import("./infra/router");
    await import("./infra/reconcile");
    await import("./infra/health");
    const { backupBucket } = await import("./infra/backup");
    return { api: api.url, router: router.url, backupBucket: backupBucket.name };
  },
});
