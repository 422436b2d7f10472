export * from "./adapters.ts";
export * from "./check.ts";
export * from "./load.ts";
export type {
  AwsSetting,
  AzureSetting,
  CloudsFile,
  CloudsFileInput,
  DigitalOceanSetting,
  GcpSetting,
} from "./schema.ts";
