// The CDK app entry point (cdk.json "app"): `npx cdk synth`, `npx cdk deploy`.
import { buildMailApp } from './app.ts';

const { app } = buildMailApp();
app.synth();
