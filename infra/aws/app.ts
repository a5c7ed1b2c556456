/**
 * The CDK app (`cdk.json`: `node infra/aws/app.ts`). Settings: see config.ts; e.g.
 * `cdk deploy --all -c stage=prod -c issuerUrl=https://login.example.com/`.
 * `-c nag=true` runs cdk-nag's AwsSolutions checks during synth.
 */
import { App } from 'aws-cdk-lib';
import { createSlipway } from './slipway.ts';

createSlipway(new App());
